package synth

// City is a prefecture-level city (设区市) with its 6-digit administrative
// division code (admdvs, 医保区划).
type City struct {
	Code string // admdvs, e.g. "320100"
	Name string // e.g. "南京市"
	// Population in tens of thousands (2020 census, rounded); it weights how
	// many institutions and claims a city gets when sizes are scaled.
	Population int
	Districts  []string // 区/县 names used to build institution names
}

// Jiangsu lists the 13 prefecture-level cities of Jiangsu province (江苏省) in
// code order. The synthetic province is "Jiangsu-like": real codes and names,
// invented institutions and claims.
var Jiangsu = []City{
	{"320100", "南京市", 931, []string{"玄武", "秦淮", "建邺", "鼓楼", "浦口", "栖霞", "雨花台", "江宁", "六合", "溧水", "高淳"}},
	{"320200", "无锡市", 746, []string{"梁溪", "锡山", "惠山", "滨湖", "新吴", "江阴", "宜兴"}},
	{"320300", "徐州市", 908, []string{"鼓楼", "云龙", "贾汪", "泉山", "铜山", "丰县", "沛县", "睢宁", "新沂", "邳州"}},
	{"320400", "常州市", 528, []string{"天宁", "钟楼", "新北", "武进", "金坛", "溧阳"}},
	{"320500", "苏州市", 1275, []string{"姑苏", "虎丘", "吴中", "相城", "吴江", "常熟", "张家港", "昆山", "太仓"}},
	{"320600", "南通市", 773, []string{"崇川", "通州", "海门", "如东", "启东", "如皋", "海安"}},
	{"320700", "连云港市", 460, []string{"连云", "海州", "赣榆", "东海", "灌云", "灌南"}},
	{"320800", "淮安市", 456, []string{"淮安", "淮阴", "清江浦", "洪泽", "涟水", "盱眙", "金湖"}},
	{"320900", "盐城市", 671, []string{"亭湖", "盐都", "大丰", "响水", "滨海", "阜宁", "射阳", "建湖", "东台"}},
	{"321000", "扬州市", 456, []string{"广陵", "邗江", "江都", "宝应", "仪征", "高邮"}},
	{"321100", "镇江市", 321, []string{"京口", "润州", "丹徒", "丹阳", "扬中", "句容"}},
	{"321200", "泰州市", 451, []string{"海陵", "高港", "姜堰", "兴化", "靖江", "泰兴"}},
	{"321300", "宿迁市", 498, []string{"宿城", "宿豫", "沭阳", "泗阳", "泗洪"}},
}
