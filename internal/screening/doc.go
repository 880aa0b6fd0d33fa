// Package screening is the claims screening engine (疑点筛查): it reads a
// city's claims extract (CSV in UTF-8 or GB18030, or Parquet), applies every
// rule instance of the loaded RuleSets in one pass over the fee lines, and
// writes findings (Parquet and CSV), a per-institution summary (the
// sampling frame's source), run statistics and a quarantine file of rejected
// rows. The rule model is in package rules; the exact meaning of every
// template is docs/rules.md, and the file contracts are
// docs/data-format.md. It imports nothing from Kubernetes.
//
// # Entry points
//
//	Run(ctx, Options) (*Result, error)      one shard, files and/or in-memory result
//	ReadSummary / MergeSummaries            shard summary.json files → one frame
//	ReadStats / MergeStats                  shard stats.json files → totals
//	ReadFindingsCSV / ReadFindingsParquet   findings back, for tests and tools
//	RiskScore                               the documented risk formula
//
// # How a run works
//
//  1. The reference tables are loaded: institutions (all), the visits of
//     the institutions in scope (~60 bytes each, ids interned in one arena),
//     diagnoses of in-scope visits and death dates of their persons — the
//     last two only if some rule needs them. When the scope is partial
//     (shard or city), the visits table is read once or twice more without
//     keeping it: to reject kept visits whose mdtrt_id an earlier valid row
//     elsewhere already used, and to collect the inpatient stays elsewhere
//     of the kept persons (OverlappingStays partners; 24 bytes and the id
//     each), keeping only those that are not duplicates themselves.
//  2. The rules are compiled: params to fixed point, item codes to ids, and
//     an item index (item id → the rules that name it), so a line meets only
//     the rules that can apply to it.
//  3. One pass over fee_lines. Decoding workers (one per CPU) read CSV
//     chunks or Parquet row ranges in parallel, parse and validate the lines
//     (decimals to int64 units of 10^-4 yuan, times to seconds, codes to
//     ids; no per-line allocation) and apply the line-local templates
//     (gender, age, setting, level, indication, price, after discharge or
//     death) right there. An in-order stage then routes each line: counts,
//     visit amounts, and — only for lines some grouped template can use —
//     retention in the current institution's state.
//  4. When the institution changes in the stream, its state is handed to a
//     finalizer pool that evaluates the grouped templates (units per
//     day/stay/course, per-day items, add-ons, inclusive pairs, packages,
//     duplicates, repeat exams, bed-only days) and the visit-level ones
//     (overlapping stays, readmission). Findings reach the writer in input
//     order, so the output is deterministic.
//
// # Real extracts: column names, values, encodings
//
// Header names match the documented columns ignoring case, surrounding
// white space and full-width forms; a ColumnMap (explicit entries and one
// built-in profile of platform spellings) maps other names. Values as
// platforms write them (codes with spaces around them, full-width digits,
// other date and date-time layouts, thousands separators) are normalised
// only on the slow path, so that clean input pays nothing measurable: a
// value is first parsed in its strict documented form, exactly as before,
// and only if that fails (or, for a code, if dirtyCode sees white space at
// an end or a non-ASCII byte — two compares and a word-wise scan) is it
// normalised and parsed again. Fee-line ids (mdtrt_id, fixmedins_code,
// psn_no) are normalised only when they do not resolve to the visit as
// read. What normalisation did is counted per table, column and kind in
// stats.json; Options.Strict turns it off. With EncodingAuto (the default)
// CSV files are read as UTF-8 when valid UTF-8, else GB18030, decided
// per file from a BOM, the first 64 KiB, or chunk by chunk in the decoding
// workers (csv.go). docs/data-format.md lists exactly what is accepted.
//
// # Input order, memory and spill
//
// The pass is fastest, and its memory is bounded by the largest institution,
// when fee_lines is clustered by institution: all lines of an institution
// together (sorting by fixmedins_code, then mdtrt_id, then fee_ocur_time
// does it; the synthetic generator writes that order). Lines of one visit
// together, in the visits table's order, also let the engine resolve visits
// without hashing. If a line arrives for an institution whose run has
// already ended, the input is not clustered: the pass restarts in spill
// mode, where the lines grouped templates need go to 64 temporary partition
// files by institution and are evaluated partition by partition afterwards
// (the line-local templates are unaffected). The result is identical; the
// cost is one extra write and read of the retained lines. Options.Spill
// forces this mode.
//
// Memory of a shard is then: ≈ 60 bytes per visit of its institutions
// (visit records of 24 bytes, interned ids and each visit's psn_no; ≈ 80
// with the id index's hash table, when the ids are in no order it can
// merge; 4 more with a rule that tells persons apart), with
// OverlappingStays ≈ 45 more per inpatient stay (the stays' index by
// person) and ≈ 50 per inpatient stay elsewhere of its persons (partners),
// with ChargeAfterDeath 4 more per visit and the deaths of its persons,
// ≈ 12 bytes per diagnosis of the shard, the
// retained lines of the institutions being finalized (≈ 100 bytes per line
// a grouped rule can use), the fee lines of the shard rejected because
// their mdtrt_id is no visit of the shard (their reason is decided by one
// more read of the visits table after the pass), and the decoding buffers.
// None of it grows with the other shards' visits: a larger input needs
// more shards, not more memory per shard. With --memory-limit (default 768
// MiB) the Go heap is kept below the budget; for more than ~8 million
// visits per shard, use more shards.
//
// # Decoding, hand-written for speed
//
// A run that matches nothing must not take longer than DuckDB reading the
// same columns (DESIGN §7, issue 14), so decoding avoids work that the
// profile showed (docs/benchmarks.md, "Decode floor"):
//
//   - Parquet pages are read by the engine itself (parquet_pages.go,
//     mappedPages) from a read-only memory map of the file (mmap_linux.go)
//     when a column chunk uses only the encodings extracts use (PLAIN,
//     dictionary, DELTA_LENGTH_BYTE_ARRAY, DELTA_BINARY_PACKED; data pages
//     v1 and v2): page headers by a small Thrift reader, each page
//     decompressed straight from the mapping into one buffer per column,
//     strings and aligned integers left where they are. parquet-go copies
//     each page out of the file through a read buffer, past each task's
//     last page, decodes headers by reflection and copies the values
//     again: that and the reads were a sixth of a no-rule run's CPU
//     besides Snappy. Its codecs and RLE/delta decoders are still used,
//     and its page reader (goPages) reads every other chunk.
//   - Typed Parquet columns (INT32/INT64: DECIMAL, DATE, TIMESTAMP,
//     integers) are read as integers (parquet_typed.go), not formatted
//     and parsed again, which was most of the CPU of a typed file. An
//     accessor takes a value only where the text path would have read
//     exactly it; anything else goes through the text, made on demand, so
//     results and reject reasons do not depend on the file's types.
//   - Dictionary pages keep their indexes: an item code's id, a cnt or pric
//     value, the institution of a fixmedins_code are worked out once per
//     dictionary entry, not per line.
//   - Each visit's psn_no is kept in visit order, so the check of a line's
//     psn_no reads memory in sequence. The templates that tell persons
//     apart compare them within one institution (psn_no together with
//     fixmedins_code), so persons are numbered per institution
//     (evaluator.persons; model.numberPersons: the institutions in
//     parallel, each in a small table that stays in cache). No index of
//     every visit's person, which cost a cache miss per visit: deaths are
//     looked up per visit in a table of the persons who died
//     (loadPersons), and OverlappingStays indexes only the inpatient stays
//     (indexStays).
//   - feedetl_sn and setl_id are copied out of the decoded page only when
//     a grouped rule may need them after the page is gone, and only once:
//     a retained line stays in its line batch, which the institution's
//     state holds until it is finalized (instState.refs, lineBatch.held),
//     instead of a second copy of the line and its ids in the in-order
//     stage, the one stage that runs alone.
//   - Parquet visits are parsed into place: scan gives each batch the
//     ordinal of its first row when the tasks know their size
//     (sizedTask, batch.ord), so the workers write each visit at the
//     index where the model keeps it (visitPlace), and the in-order
//     loader moves a batch only once an earlier row was dropped.
//     Each visit's input line is kept as runs (lineRuns): it is read only
//     to report a duplicate mdtrt_id.
//   - Visit ids in export order form a few runs of increasing ids (by
//     institution, then visit). While they form at most 64, the repeated
//     ids are found by merging the runs and an id by searching them
//     (index_runs.go); the fee pass finds nearly every line's visit next
//     to the previous line's (visitFinder), so the hash table of every id
//     — 100 MB of fresh memory and most of the visits phase's index work
//     at 4.3 M visits — is built only if lookups turn out many, or the ids
//     are in no such order, or for the partial scope's second pass.
//   - Nothing runs alone between phases that can run beside parallel
//     work: the CSR of in-scope visits per institution is built while the
//     id index builds (loadVisits), and only for the rules that read it
//     (visit-level rules, persons; else the visits in scope are only
//     counted, in parallel); diagnoses in visit order go into their CSR
//     in the in-order consumer as they arrive (loadDiagnoses). With two
//     cores, a single-threaded pass over the 4 M visits left one idle for
//     its whole length.
//   - The visits' ids of one width are written by the workers where the
//     model keeps them (idPlace), not copied there by the loader; other
//     buffers a batch would leave as garbage are handed back and reused
//     (the line batches, freeList): fresh memory costs a page fault
//     per 4 KiB, microseconds each on the measured machines. The model's
//     large arrays, written once, are advised to huge pages instead
//     (hugePages: 512 times fewer faults), the per-visit amounts are
//     made only for the visit-level rules that read them, and one
//     collection after the visits phase hands its scratch to the fee pass.
//
// # Sharding
//
// Shard i of n screens the institutions with fnv1a32(fixmedins_code) mod n
// = i (hash/fnv New32a over the code's bytes). Every shard reads every file
// (the visits table up to four times; other shards' fee lines are decoded
// but skipped before validation). The union of the shards' findings, summaries and
// quarantine files equals the unsharded run's (tested).
//
// # Risk score
//
// See RiskScore: 0.6 × min(1, amount at risk / screened amount) + 0.4 ×
// (categories hit / 7), in integer millionths.
package screening
