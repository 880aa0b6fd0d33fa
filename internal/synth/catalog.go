package synth

// This file is the synthetic province's reference data: the item catalogue
// (医保目录: medical services, drugs, consumables with national-style codes),
// the ICD-10 diagnoses it uses and the clinical profiles that tie them
// together. The default rule catalogue in config/rules is written against
// these codes, so a change here may need a change there (the catalogue test
// checks that every item a rule names exists here).

// ItemKind groups catalogue items by what they are; it decides how the
// generator bills them (per day, once per visit, with an infusion, …).
type ItemKind uint8

const (
	KindConsult     ItemKind = iota // 诊查费
	KindBed                         // 床位费 (per day)
	KindNursing                     // 护理费 (per day)
	KindTreatment                   // 治疗: injections, infusions, oxygen
	KindLab                         // 检验
	KindImaging                     // 影像/超声/心电 (examinations)
	KindProcedure                   // 手术
	KindAnaesthesia                 // 麻醉
	KindDrug                        // 西药/中成药
	KindConsumable                  // 医用耗材
)

// Item is one catalogue entry. Price is the list price in fen (分); the
// generator bills integral quantities so that amounts are exact.
type Item struct {
	Code  string
	Name  string
	Kind  ItemKind
	Price int64
}

// Items is the item catalogue. Codes follow the national styles: medical
// services "00" + 9-digit project code + "0000" (e.g. 001102000010000 普通病房
// 床位费), drugs "X…" (western, ATC-based) / "Z…" (Chinese patent medicine),
// consumables "C…".
var Items = []Item{
	// 综合医疗服务
	{"001101000010000", "普通门诊诊查费", KindConsult, 1000},
	{"001101000030000", "副主任医师门诊诊查费", KindConsult, 2500},
	{"001102000010000", "普通病房床位费", KindBed, 4000},
	{"001102000040000", "重症监护病房床位费", KindBed, 15000},
	{"001201000020000", "特级护理", KindNursing, 9000},
	{"001201000030000", "一级护理", KindNursing, 2800},
	{"001201000040000", "二级护理", KindNursing, 1500},
	{"001201000050000", "三级护理", KindNursing, 800},
	{"001204000010000", "肌肉注射", KindTreatment, 300},
	{"001204000020000", "静脉注射", KindTreatment, 500},
	{"001204000060000", "静脉输液", KindTreatment, 1000},
	{"001204000060100", "静脉输液(第二组起每组加收)", KindTreatment, 300},
	{"001208000010000", "氧气吸入", KindTreatment, 300},
	{"001206000010000", "换药(小)", KindTreatment, 1000},
	{"001209000030000", "雾化吸入", KindTreatment, 800},
	// 检验
	{"002501010150000", "血细胞分析(血常规)", KindLab, 2000},
	{"002501010010000", "血红蛋白测定", KindLab, 300},
	{"002501020350000", "尿液分析", KindLab, 1500},
	{"002501020010000", "尿蛋白定性", KindLab, 200},
	{"002501020020000", "尿糖定性", KindLab, 200},
	{"002501020060000", "尿比重测定", KindLab, 200},
	{"002503020010000", "葡萄糖测定", KindLab, 800},
	{"002503020030000", "糖化血红蛋白测定", KindLab, 6000},
	{"002503050040000", "丙氨酸氨基转移酶测定", KindLab, 600},
	{"002503070030000", "肌酐测定", KindLab, 600},
	{"002504010130000", "C反应蛋白测定", KindLab, 2500},
	{"002504030040000", "甲胎蛋白测定", KindLab, 4500},
	{"002504030120000", "总前列腺特异性抗原测定(tPSA)", KindLab, 6000},
	{"002504030130000", "游离前列腺特异性抗原测定(fPSA)", KindLab, 6000},
	{"002504030210000", "乙型肝炎病毒DNA定量测定", KindLab, 15000},
	{"002504030850000", "人乳头瘤病毒(HPV)核酸检测", KindLab, 20000},
	{"002703000030000", "液基薄层细胞制片术(宫颈TCT)", KindLab, 12000},
	// 影像、超声、心电
	{"002101020150000", "数字化X线摄影(DR)", KindImaging, 6000},
	{"002103000010000", "X线计算机体层(CT)平扫", KindImaging, 15000},
	{"002103000010100", "CT平扫每增加一个部位(加收)", KindImaging, 5000},
	{"002103000020000", "X线计算机体层(CT)增强扫描", KindImaging, 30000},
	{"002104000010000", "磁共振平扫(MRI)", KindImaging, 45000},
	{"002202010010000", "彩色多普勒超声常规检查", KindImaging, 9000},
	{"002203020010000", "超声心动图(心脏彩超)", KindImaging, 18000},
	{"003107010010000", "常规心电图检查", KindImaging, 2500},
	{"003112020010000", "阴道镜检查", KindImaging, 8000},
	// 麻醉、手术
	{"003301000050000", "全身麻醉", KindAnaesthesia, 80000},
	{"003301000030000", "椎管内麻醉", KindAnaesthesia, 50000},
	{"003301000150000", "麻醉中监测", KindAnaesthesia, 10000},
	{"003106030010000", "气管插管术", KindProcedure, 12000},
	{"003310030010000", "阑尾切除术", KindProcedure, 110000},
	{"003310010030000", "剖腹探查术", KindProcedure, 90000},
	{"003310050020000", "腹腔镜下胆囊切除术", KindProcedure, 250000},
	{"003202000060000", "经皮冠状动脉支架置入术(PCI)", KindProcedure, 380000},
	{"003315070010000", "人工髋关节置换术", KindProcedure, 420000},
	{"003311020040000", "经尿道前列腺电切术(TURP)", KindProcedure, 220000},
	{"003312030010000", "子宫下段剖宫产术", KindProcedure, 150000},
	// 西药 (X) 与中成药 (Z)
	{"XJ01DDA101B002010100001", "注射用头孢曲松钠", KindDrug, 1250},
	{"XJ01CRA051B001010100002", "阿莫西林克拉维酸钾片", KindDrug, 1860},
	{"XJ01MAA121B001010100003", "左氧氟沙星片", KindDrug, 1580},
	{"XJ01DHA051B002010100004", "注射用亚胺培南西司他丁钠", KindDrug, 11800},
	{"XC08CAA011B001010100005", "苯磺酸氨氯地平片", KindDrug, 1500},
	{"XA10BAA021B001010100006", "盐酸二甲双胍片", KindDrug, 980},
	{"XA10AEA041B002010100007", "甘精胰岛素注射液", KindDrug, 16800},
	{"XC10AAA051B001010100008", "阿托伐他汀钙片", KindDrug, 2800},
	{"XB01ACA061B001010100009", "阿司匹林肠溶片", KindDrug, 1500},
	{"XB01ACA041B001010100010", "硫酸氢氯吡格雷片", KindDrug, 4500},
	{"XL03AXT011B002010100011", "注射用胸腺法新", KindDrug, 18000},
	{"XJ05AFA101B001010100012", "恩替卡韦分散片", KindDrug, 11000},
	{"XB05AAA011B002010100013", "人血白蛋白", KindDrug, 38000},
	{"XA16AAA021B002010100014", "注射用丁二磺酸腺苷蛋氨酸", KindDrug, 6500},
	{"XL01FDA011B002010100015", "注射用曲妥珠单抗", KindDrug, 550000},
	{"XG03DAA041B002010100016", "黄体酮注射液", KindDrug, 800},
	{"XG04CAA021B003010100017", "盐酸坦索罗辛缓释胶囊", KindDrug, 4800},
	{"XR05XAA051B004010100018", "小儿氨酚黄那敏颗粒", KindDrug, 1200},
	{"XN02BEA011B001010100019", "对乙酰氨基酚片", KindDrug, 600},
	{"XR06AXA131B001010100020", "氯雷他定片", KindDrug, 1800},
	{"XA02BCA011B003010100021", "奥美拉唑肠溶胶囊", KindDrug, 2200},
	{"XA02BCA011B002010100022", "注射用奥美拉唑钠", KindDrug, 2800},
	{"XB05BBA011B002010100023", "0.9%氯化钠注射液", KindDrug, 350},
	{"XB05BAA031B002010100024", "5%葡萄糖注射液", KindDrug, 380},
	{"XH02ABA021B002010100025", "地塞米松磷酸钠注射液", KindDrug, 120},
	{"XR03ACA021B005010100026", "硫酸沙丁胺醇吸入气雾剂", KindDrug, 2500},
	{"XR03BAA021B005010100027", "吸入用布地奈德混悬液", KindDrug, 1200},
	{"XC01DAA081B001010100028", "单硝酸异山梨酯片", KindDrug, 2000},
	{"XB01ABA051B002010100029", "依诺肝素钠注射液", KindDrug, 3500},
	{"XH01BBA021B002010100030", "缩宫素注射液", KindDrug, 350},
	{"XM01AEA011B003010100031", "布洛芬缓释胶囊", KindDrug, 1200},
	{"XN07XXA011B002010100032", "注射用鼠神经生长因子", KindDrug, 19800},
	{"ZA01AAL0123010100033", "连花清瘟胶囊", KindDrug, 1500},
	{"ZA12BAD0456020100034", "复方丹参滴丸", KindDrug, 2800},
	{"ZA12BAX0789020200035", "注射用丹参多酚酸盐", KindDrug, 12000},
	{"ZA12BAS0123020200036", "血塞通注射液", KindDrug, 2500},
	// 医用耗材
	{"C14010110000000100001", "一次性使用输液器", KindConsumable, 500},
	{"C14020110000000100002", "一次性使用无菌注射器", KindConsumable, 100},
	{"C02010110000000100003", "医用脱脂纱布", KindConsumable, 200},
	{"C03010220000000100004", "冠状动脉药物洗脱支架", KindConsumable, 70000},
	{"C13010330000000100005", "人工髋关节假体", KindConsumable, 700000},
	{"C11010110000000100006", "可吸收性外科缝线", KindConsumable, 15000},
	{"C07010110000000100007", "一次性使用导尿包", KindConsumable, 2500},
}

// Diagnosis is an ICD-10 code (医保版 ICD-10 uses the same stems) with its name.
type Diagnosis struct{ Code, Name string }

// Diagnoses lists every diagnosis the profiles use.
var Diagnoses = []Diagnosis{
	{"J06.9", "急性上呼吸道感染"},
	{"J18.9", "肺炎"},
	{"J44.1", "慢性阻塞性肺病伴急性加重"},
	{"I10", "特发性(原发性)高血压"},
	{"E11.9", "2型糖尿病不伴有并发症"},
	{"I21.9", "急性心肌梗死"},
	{"I25.1", "动脉硬化性心脏病"},
	{"I63.9", "脑梗死"},
	{"N40", "前列腺增生"},
	{"N72", "宫颈炎性疾病"},
	{"B18.1", "慢性病毒性乙型肝炎"},
	{"K74.6", "肝硬化"},
	{"K29.7", "胃炎"},
	{"K35.8", "急性阑尾炎"},
	{"K80.1", "胆囊结石伴胆囊炎"},
	{"S72.0", "股骨颈骨折"},
	{"C34.9", "支气管或肺恶性肿瘤"},
	{"C50.9", "乳房恶性肿瘤"},
	{"O82.0", "经选择性剖宫产术的分娩"},
	{"O20.0", "先兆流产"},
	{"M17.9", "膝关节病"},
	{"N39.0", "泌尿道感染"},
	{"A09", "感染性腹泻"},
	{"S52.5", "桡骨下端骨折"},
}

// setting says where a profile happens.
type setting uint8

const (
	settingOutpatient setting = iota // 门诊 at a hospital or clinic
	settingInpatient                 // 住院 at a hospital
	settingPharmacy                  // 定点药店购药
)

// use is one item of a profile: billed with probability p, cnt units drawn
// uniformly from [cnt[0], cnt[1]]. For inpatient profiles day says when:
// dayAdmission, dayNext (the day after admission), dayAny (a random day of
// the stay), dayDischarge, or dayEvery (every day of the stay, i.e. LOS
// times, for per-day items).
type use struct {
	code string
	cnt  [2]int
	p    float64
	day  int8
}

const (
	dayAdmission int8 = iota
	dayNext
	dayAny
	dayDischarge
	dayEvery
)

// profile is a clinical pattern (诊疗路径): a principal diagnosis, who can have
// it, where it is treated and what is billed.
type profile struct {
	name      string
	diag      string   // principal diagnosis
	secondary []string // possible secondary diagnoses (each with p=0.25)
	setting   setting
	medType   string
	minLevel  int  // lowest hospital level (1..3); 0 = clinics too
	gender    byte // 0 any, 1 male, 2 female
	minAge    int
	maxAge    int
	los       [2]int // length of stay range (inpatient)
	weight    int
	nursing   string // per-day nursing item (inpatient)
	uses      []use
}

const (
	bedFee      = "001102000010000"
	nursing1    = "001201000030000"
	nursing2    = "001201000040000"
	nursing3    = "001201000050000"
	consultFee  = "001101000010000"
	consultFee2 = "001101000030000"
	infusion    = "001204000060000"
	infusionAdd = "001204000060100"
	infusionSet = "C14010110000000100001"
	saline      = "XB05BBA011B002010100023"
	glucose5    = "XB05BAA031B002010100024"
	syringe     = "C14020110000000100002"
	bloodRoute  = "002501010150000"
	crp         = "002504010130000"
)

// profiles is the case mix. Weights are relative within a setting.
var profiles = []profile{
	// --- outpatient (门诊) ---
	{name: "上感", diag: "J06.9", setting: settingOutpatient, medType: "11", minAge: 0, maxAge: 100, weight: 30,
		uses: []use{{consultFee, [2]int{1, 1}, 1, 0}, {bloodRoute, [2]int{1, 1}, 0.6, 0}, {crp, [2]int{1, 1}, 0.3, 0},
			{"XN02BEA011B001010100019", [2]int{1, 2}, 0.5, 0}, {"XR06AXA131B001010100020", [2]int{1, 1}, 0.3, 0},
			{"ZA01AAL0123010100033", [2]int{1, 2}, 0.4, 0}}},
	{name: "小儿上感", diag: "J06.9", setting: settingOutpatient, medType: "11", minAge: 1, maxAge: 12, weight: 10,
		uses: []use{{consultFee, [2]int{1, 1}, 1, 0}, {bloodRoute, [2]int{1, 1}, 0.7, 0}, {"XR05XAA051B004010100018", [2]int{1, 2}, 0.9, 0},
			{"XR03BAA021B005010100027", [2]int{1, 3}, 0.3, 0}, {"001209000030000", [2]int{1, 1}, 0.3, 0}}},
	{name: "高血压", diag: "I10", secondary: []string{"E11.9", "I25.1"}, setting: settingOutpatient, medType: "14", minAge: 35, maxAge: 95, weight: 25,
		uses: []use{{consultFee2, [2]int{1, 1}, 1, 0}, {"XC08CAA011B001010100005", [2]int{1, 3}, 0.9, 0}, {"XC10AAA051B001010100008", [2]int{1, 2}, 0.5, 0},
			{"XB01ACA061B001010100009", [2]int{1, 2}, 0.4, 0}, {"003107010010000", [2]int{1, 1}, 0.3, 0}, {"002503070030000", [2]int{1, 1}, 0.2, 0}}},
	{name: "糖尿病", diag: "E11.9", secondary: []string{"I10"}, setting: settingOutpatient, medType: "14", minAge: 30, maxAge: 95, weight: 20,
		uses: []use{{consultFee2, [2]int{1, 1}, 1, 0}, {"XA10BAA021B001010100006", [2]int{1, 3}, 0.8, 0}, {"XA10AEA041B002010100007", [2]int{1, 2}, 0.3, 0},
			{"002503020010000", [2]int{1, 1}, 0.8, 0}, {"002503020030000", [2]int{1, 1}, 0.3, 0}}},
	{name: "前列腺增生", diag: "N40", setting: settingOutpatient, medType: "11", minLevel: 1, gender: 1, minAge: 50, maxAge: 95, weight: 6,
		uses: []use{{consultFee2, [2]int{1, 1}, 1, 0}, {"002504030120000", [2]int{1, 1}, 0.7, 0}, {"002504030130000", [2]int{1, 1}, 0.4, 0},
			{"002202010010000", [2]int{1, 1}, 0.5, 0}, {"XG04CAA021B003010100017", [2]int{1, 2}, 0.8, 0}}},
	{name: "宫颈炎", diag: "N72", setting: settingOutpatient, medType: "11", minLevel: 1, gender: 2, minAge: 20, maxAge: 70, weight: 6,
		uses: []use{{consultFee, [2]int{1, 1}, 1, 0}, {"002703000030000", [2]int{1, 1}, 0.6, 0}, {"002504030850000", [2]int{1, 1}, 0.4, 0},
			{"003112020010000", [2]int{1, 1}, 0.2, 0}}},
	{name: "先兆流产", diag: "O20.0", setting: settingOutpatient, medType: "11", minLevel: 1, gender: 2, minAge: 20, maxAge: 42, weight: 3,
		uses: []use{{consultFee, [2]int{1, 1}, 1, 0}, {"XG03DAA041B002010100016", [2]int{1, 3}, 0.9, 0}, {"001204000010000", [2]int{1, 1}, 0.9, 0},
			{"002202010010000", [2]int{1, 1}, 0.7, 0}}},
	{name: "慢乙肝", diag: "B18.1", setting: settingOutpatient, medType: "14", minLevel: 2, minAge: 18, maxAge: 85, weight: 4,
		uses: []use{{consultFee2, [2]int{1, 1}, 1, 0}, {"XJ05AFA101B001010100012", [2]int{1, 3}, 0.9, 0}, {"002504030210000", [2]int{1, 1}, 0.3, 0},
			{"002503050040000", [2]int{1, 1}, 0.7, 0}, {"XL03AXT011B002010100011", [2]int{1, 2}, 0.2, 0}}},
	{name: "胃炎", diag: "K29.7", setting: settingOutpatient, medType: "11", minAge: 16, maxAge: 90, weight: 10,
		uses: []use{{consultFee, [2]int{1, 1}, 1, 0}, {"XA02BCA011B003010100021", [2]int{1, 2}, 0.9, 0}, {"002202010010000", [2]int{1, 1}, 0.2, 0}}},
	{name: "尿路感染", diag: "N39.0", setting: settingOutpatient, medType: "11", minAge: 18, maxAge: 90, weight: 6,
		uses: []use{{consultFee, [2]int{1, 1}, 1, 0}, {"002501020350000", [2]int{1, 1}, 0.9, 0}, {"XJ01MAA121B001010100003", [2]int{1, 2}, 0.8, 0}}},
	{name: "腹泻", diag: "A09", setting: settingOutpatient, medType: "11", minAge: 1, maxAge: 90, weight: 6,
		uses: []use{{consultFee, [2]int{1, 1}, 1, 0}, {bloodRoute, [2]int{1, 1}, 0.6, 0}, {infusion, [2]int{1, 1}, 0.3, 0},
			{saline, [2]int{1, 2}, 0.3, 0}, {infusionSet, [2]int{1, 1}, 0.3, 0}, {"XJ01CRA051B001010100002", [2]int{1, 1}, 0.4, 0}}},
	{name: "膝关节病", diag: "M17.9", setting: settingOutpatient, medType: "11", minAge: 40, maxAge: 95, weight: 6,
		uses: []use{{consultFee2, [2]int{1, 1}, 1, 0}, {"002101020150000", [2]int{1, 1}, 0.6, 0}, {"XM01AEA011B003010100031", [2]int{1, 2}, 0.8, 0},
			{"002104000010000", [2]int{1, 1}, 0.08, 0}}},
	{name: "冠心病门诊", diag: "I25.1", secondary: []string{"I10"}, setting: settingOutpatient, medType: "14", minAge: 40, maxAge: 95, weight: 8,
		uses: []use{{consultFee2, [2]int{1, 1}, 1, 0}, {"XB01ACA061B001010100009", [2]int{1, 2}, 0.8, 0}, {"XC01DAA081B001010100028", [2]int{1, 2}, 0.6, 0},
			{"ZA12BAD0456020100034", [2]int{1, 2}, 0.4, 0}, {"003107010010000", [2]int{1, 1}, 0.5, 0}, {"002203020010000", [2]int{1, 1}, 0.1, 0}}},
	{name: "乳腺癌靶向门诊", diag: "C50.9", setting: settingOutpatient, medType: "14", minLevel: 3, gender: 2, minAge: 28, maxAge: 85, weight: 1,
		uses: []use{{consultFee2, [2]int{1, 1}, 1, 0}, {"XL01FDA011B002010100015", [2]int{1, 1}, 0.9, 0}, {infusion, [2]int{1, 1}, 0.9, 0},
			{saline, [2]int{1, 1}, 0.9, 0}, {infusionSet, [2]int{1, 1}, 0.9, 0}}},

	// --- pharmacy (定点药店购药) ---
	{name: "药店-降压", diag: "I10", setting: settingPharmacy, medType: "41", minAge: 35, maxAge: 95, weight: 30,
		uses: []use{{"XC08CAA011B001010100005", [2]int{1, 3}, 0.9, 0}, {"XC10AAA051B001010100008", [2]int{1, 2}, 0.3, 0}, {"XB01ACA061B001010100009", [2]int{1, 2}, 0.3, 0}}},
	{name: "药店-降糖", diag: "E11.9", setting: settingPharmacy, medType: "41", minAge: 30, maxAge: 95, weight: 20,
		uses: []use{{"XA10BAA021B001010100006", [2]int{1, 3}, 0.9, 0}}},
	{name: "药店-感冒", diag: "J06.9", setting: settingPharmacy, medType: "41", minAge: 16, maxAge: 90, weight: 30,
		uses: []use{{"ZA01AAL0123010100033", [2]int{1, 2}, 0.7, 0}, {"XN02BEA011B001010100019", [2]int{1, 2}, 0.5, 0}, {"XR06AXA131B001010100020", [2]int{1, 1}, 0.4, 0}}},
	{name: "药店-胃药", diag: "K29.7", setting: settingPharmacy, medType: "41", minAge: 16, maxAge: 90, weight: 10,
		uses: []use{{"XA02BCA011B003010100021", [2]int{1, 2}, 1, 0}}},
	{name: "药店-冠心病", diag: "I25.1", setting: settingPharmacy, medType: "41", minAge: 40, maxAge: 95, weight: 10,
		uses: []use{{"ZA12BAD0456020100034", [2]int{1, 3}, 0.9, 0}, {"XC01DAA081B001010100028", [2]int{1, 2}, 0.4, 0}}},

	// --- inpatient (住院) ---
	{name: "肺炎", diag: "J18.9", secondary: []string{"I10", "E11.9"}, setting: settingInpatient, medType: "21", minLevel: 1, minAge: 1, maxAge: 100,
		los: [2]int{5, 12}, weight: 25, nursing: nursing2,
		uses: []use{{bloodRoute, [2]int{1, 1}, 1, dayAdmission}, {crp, [2]int{1, 1}, 0.8, dayAdmission}, {"002103000010000", [2]int{1, 1}, 0.7, dayAdmission},
			{"002101020150000", [2]int{1, 1}, 0.3, dayNext},
			{"XJ01DDA101B002010100001", [2]int{1, 2}, 1, dayEvery}, {infusion, [2]int{1, 1}, 1, dayEvery}, {infusionAdd, [2]int{1, 2}, 0.5, dayEvery},
			{saline, [2]int{1, 2}, 1, dayEvery}, {infusionSet, [2]int{1, 1}, 1, dayEvery}, {"001208000010000", [2]int{2, 8}, 0.3, dayEvery},
			{"XR03BAA021B005010100027", [2]int{1, 2}, 0.3, dayEvery}, {bloodRoute, [2]int{1, 1}, 0.5, dayDischarge}}},
	{name: "慢阻肺急性加重", diag: "J44.1", secondary: []string{"I10"}, setting: settingInpatient, medType: "21", minLevel: 1, minAge: 45, maxAge: 100,
		los: [2]int{6, 14}, weight: 12, nursing: nursing2,
		uses: []use{{bloodRoute, [2]int{1, 1}, 1, dayAdmission}, {"002101020150000", [2]int{1, 1}, 0.8, dayAdmission},
			{"XJ01MAA121B001010100003", [2]int{1, 2}, 0.7, dayEvery}, {"001208000010000", [2]int{4, 12}, 0.9, dayEvery}, {"001209000030000", [2]int{1, 2}, 0.7, dayEvery},
			{"XR03BAA021B005010100027", [2]int{1, 2}, 0.8, dayEvery}, {"XH02ABA021B002010100025", [2]int{1, 1}, 0.3, dayEvery}, {"XR03ACA021B005010100026", [2]int{1, 1}, 0.6, dayDischarge}}},
	{name: "急性心梗", diag: "I21.9", secondary: []string{"I10", "E11.9"}, setting: settingInpatient, medType: "21", minLevel: 3, minAge: 35, maxAge: 95,
		los: [2]int{6, 12}, weight: 6, nursing: nursing1,
		uses: []use{{"003107010010000", [2]int{1, 1}, 1, dayAdmission}, {"003202000060000", [2]int{1, 1}, 0.9, dayAdmission}, {"C03010220000000100004", [2]int{1, 2}, 0.9, dayAdmission},
			{"002203020010000", [2]int{1, 1}, 0.9, dayNext}, {"XB01ACA061B001010100009", [2]int{1, 1}, 1, dayEvery}, {"XB01ACA041B001010100010", [2]int{1, 1}, 1, dayEvery},
			{"XC10AAA051B001010100008", [2]int{1, 1}, 0.9, dayEvery}, {"XB01ABA051B002010100029", [2]int{1, 2}, 0.6, dayEvery}, {"001204000010000", [2]int{1, 1}, 0.6, dayEvery}}},
	{name: "脑梗死", diag: "I63.9", secondary: []string{"I10", "E11.9"}, setting: settingInpatient, medType: "21", minLevel: 2, minAge: 40, maxAge: 100,
		los: [2]int{8, 16}, weight: 12, nursing: nursing1,
		uses: []use{{"002103000010000", [2]int{1, 1}, 1, dayAdmission}, {"002104000010000", [2]int{1, 1}, 0.7, dayNext}, {bloodRoute, [2]int{1, 1}, 1, dayAdmission},
			{"ZA12BAX0789020200035", [2]int{1, 1}, 0.6, dayEvery}, {"ZA12BAS0123020200036", [2]int{1, 2}, 0.4, dayEvery}, {infusion, [2]int{1, 1}, 1, dayEvery},
			{glucose5, [2]int{1, 2}, 1, dayEvery}, {infusionSet, [2]int{1, 1}, 1, dayEvery}, {"XB01ACA061B001010100009", [2]int{1, 1}, 0.9, dayEvery}}},
	{name: "阑尾炎", diag: "K35.8", setting: settingInpatient, medType: "21", minLevel: 2, minAge: 6, maxAge: 85,
		los: [2]int{4, 8}, weight: 8, nursing: nursing2,
		uses: []use{{bloodRoute, [2]int{1, 1}, 1, dayAdmission}, {"002202010010000", [2]int{1, 1}, 0.9, dayAdmission}, {"003310030010000", [2]int{1, 1}, 1, dayAdmission},
			{"003301000050000", [2]int{1, 1}, 1, dayAdmission}, {"003301000150000", [2]int{1, 1}, 0.9, dayAdmission}, {"C11010110000000100006", [2]int{1, 2}, 0.8, dayAdmission},
			{"XJ01DDA101B002010100001", [2]int{1, 2}, 1, dayEvery}, {infusion, [2]int{1, 1}, 1, dayEvery}, {saline, [2]int{1, 1}, 1, dayEvery},
			{infusionSet, [2]int{1, 1}, 1, dayEvery}, {"001206000010000", [2]int{1, 1}, 0.5, dayAny}}},
	{name: "胆囊结石", diag: "K80.1", setting: settingInpatient, medType: "21", minLevel: 2, minAge: 25, maxAge: 90,
		los: [2]int{4, 9}, weight: 8, nursing: nursing2,
		uses: []use{{"002202010010000", [2]int{1, 1}, 1, dayAdmission}, {"002503050040000", [2]int{1, 1}, 0.9, dayAdmission},
			{"003310050020000", [2]int{1, 1}, 1, dayNext}, {"003301000050000", [2]int{1, 1}, 1, dayNext}, {"003301000150000", [2]int{1, 1}, 0.9, dayNext},
			{"XJ01DDA101B002010100001", [2]int{1, 1}, 0.7, dayEvery}, {infusion, [2]int{1, 1}, 1, dayEvery}, {glucose5, [2]int{1, 1}, 1, dayEvery},
			{infusionSet, [2]int{1, 1}, 1, dayEvery}, {"XA02BCA011B002010100022", [2]int{1, 1}, 0.5, dayEvery}}},
	{name: "股骨颈骨折", diag: "S72.0", secondary: []string{"I10"}, setting: settingInpatient, medType: "21", minLevel: 3, minAge: 60, maxAge: 100,
		los: [2]int{9, 18}, weight: 5, nursing: nursing1,
		uses: []use{{"002101020150000", [2]int{1, 1}, 1, dayAdmission}, {"002103000010000", [2]int{1, 1}, 0.5, dayAdmission}, {"003315070010000", [2]int{1, 1}, 0.95, dayNext},
			{"C13010330000000100005", [2]int{1, 1}, 0.95, dayNext}, {"003301000030000", [2]int{1, 1}, 1, dayNext}, {"003301000150000", [2]int{1, 1}, 0.9, dayNext},
			{"XB01ABA051B002010100029", [2]int{1, 1}, 0.9, dayEvery}, {infusion, [2]int{1, 1}, 0.8, dayEvery}, {saline, [2]int{1, 1}, 0.8, dayEvery},
			{infusionSet, [2]int{1, 1}, 0.8, dayEvery}, {"XM01AEA011B003010100031", [2]int{1, 1}, 0.6, dayEvery}, {"001206000010000", [2]int{1, 1}, 0.6, dayAny}}},
	{name: "前列腺电切", diag: "N40", setting: settingInpatient, medType: "21", minLevel: 2, gender: 1, minAge: 55, maxAge: 95,
		los: [2]int{5, 10}, weight: 4, nursing: nursing2,
		uses: []use{{"002504030120000", [2]int{1, 1}, 0.9, dayAdmission}, {"002202010010000", [2]int{1, 1}, 0.9, dayAdmission}, {"003311020040000", [2]int{1, 1}, 1, dayNext},
			{"003301000030000", [2]int{1, 1}, 1, dayNext}, {"C07010110000000100007", [2]int{1, 1}, 1, dayNext}, {"XJ01DDA101B002010100001", [2]int{1, 2}, 0.8, dayEvery},
			{infusion, [2]int{1, 1}, 1, dayEvery}, {saline, [2]int{1, 2}, 1, dayEvery}, {infusionSet, [2]int{1, 1}, 1, dayEvery}}},
	{name: "剖宫产", diag: "O82.0", setting: settingInpatient, medType: "21", minLevel: 2, gender: 2, minAge: 20, maxAge: 45,
		los: [2]int{4, 7}, weight: 8, nursing: nursing2,
		uses: []use{{"002202010010000", [2]int{1, 1}, 1, dayAdmission}, {bloodRoute, [2]int{1, 1}, 1, dayAdmission}, {"003312030010000", [2]int{1, 1}, 1, dayNext},
			{"003301000030000", [2]int{1, 1}, 1, dayNext}, {"003301000150000", [2]int{1, 1}, 0.9, dayNext}, {"XH01BBA021B002010100030", [2]int{1, 2}, 1, dayNext},
			{"C07010110000000100007", [2]int{1, 1}, 1, dayNext}, {"XJ01DDA101B002010100001", [2]int{1, 1}, 0.6, dayEvery}, {infusion, [2]int{1, 1}, 1, dayEvery},
			{glucose5, [2]int{1, 2}, 1, dayEvery}, {infusionSet, [2]int{1, 1}, 1, dayEvery}}},
	{name: "肝硬化", diag: "K74.6", secondary: []string{"B18.1"}, setting: settingInpatient, medType: "21", minLevel: 2, minAge: 30, maxAge: 90,
		los: [2]int{7, 15}, weight: 5, nursing: nursing2,
		uses: []use{{"002202010010000", [2]int{1, 1}, 1, dayAdmission}, {"002503050040000", [2]int{1, 1}, 1, dayAdmission}, {"002504030040000", [2]int{1, 1}, 0.6, dayAdmission},
			{"XB05AAA011B002010100013", [2]int{1, 2}, 0.7, dayEvery}, {"XA16AAA021B002010100014", [2]int{1, 2}, 0.6, dayEvery}, {infusion, [2]int{1, 1}, 1, dayEvery},
			{glucose5, [2]int{1, 1}, 1, dayEvery}, {infusionSet, [2]int{1, 1}, 1, dayEvery}, {"002503050040000", [2]int{1, 1}, 0.6, dayDischarge}}},
	{name: "肺癌", diag: "C34.9", setting: settingInpatient, medType: "21", minLevel: 2, minAge: 40, maxAge: 95,
		los: [2]int{6, 14}, weight: 5, nursing: nursing2,
		uses: []use{{"002103000020000", [2]int{1, 1}, 0.9, dayAdmission}, {bloodRoute, [2]int{1, 1}, 1, dayAdmission}, {"002504030040000", [2]int{1, 1}, 0.3, dayAdmission},
			{"XB05AAA011B002010100013", [2]int{1, 1}, 0.4, dayEvery}, {infusion, [2]int{1, 1}, 1, dayEvery}, {saline, [2]int{1, 2}, 1, dayEvery},
			{infusionSet, [2]int{1, 1}, 1, dayEvery}, {"XH02ABA021B002010100025", [2]int{1, 1}, 0.5, dayEvery}, {bloodRoute, [2]int{1, 1}, 0.8, dayDischarge}}},
	{name: "桡骨骨折", diag: "S52.5", setting: settingInpatient, medType: "21", minLevel: 1, minAge: 8, maxAge: 95,
		los: [2]int{3, 7}, weight: 5, nursing: nursing3,
		uses: []use{{"002101020150000", [2]int{1, 1}, 1, dayAdmission}, {"XM01AEA011B003010100031", [2]int{1, 2}, 0.9, dayEvery}, {"001206000010000", [2]int{1, 1}, 0.8, dayEvery},
			{"C02010110000000100003", [2]int{1, 3}, 0.8, dayEvery}, {"002101020150000", [2]int{1, 1}, 0.5, dayDischarge}}},
}
