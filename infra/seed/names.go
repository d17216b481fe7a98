package seed

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Plausible Chinese personal data: names, mobile numbers, ID card numbers with a valid check digit, businesses with
// valid unified social credit codes. All synthetic; any resemblance to a real person or business is chance.

var surnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
	"何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董",
	"袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟",
	"谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "付", "方", "邹", "熊", "万", "欧阳", "司马"}

var givenChars = []string{"伟", "芳", "娜", "秀", "英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰",
	"娟", "涛", "明", "超", "兰", "霞", "平", "刚", "桂", "华", "建", "国", "文", "辉", "鹏", "飞", "玲", "红", "梅",
	"宇", "浩", "然", "子", "涵", "欣", "怡", "俊", "晨", "阳", "思", "雨", "佳", "琪", "志", "海", "燕", "雪", "婷",
	"博", "一", "诺", "梓", "轩", "汉", "楚", "江", "珞"}

func personName(r *rand.Rand) string {
	n := surnames[r.IntN(len(surnames))] + givenChars[r.IntN(len(givenChars))]
	if r.IntN(10) < 7 {
		n += givenChars[r.IntN(len(givenChars))]
	}
	return n
}

// mobile returns 1[3-9] followed by nine digits.
func mobile(r *rand.Rand) string {
	b := make([]byte, 0, 11)
	b = append(b, '1', byte('3'+r.IntN(7)))
	return string(appendDigits(r, b, 9))
}

func appendDigits(r *rand.Rand, b []byte, n int) []byte {
	for range n {
		b = append(b, byte('0'+r.IntN(10)))
	}
	return b
}

var idCardWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCardNo returns an 18-digit resident ID number (GB 11643): region, birth date, sequence, ISO 7064 check.
func idCardNo(r *rand.Rand, region string) string {
	birth := time.Date(1950+r.IntN(57), 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(365))
	b := make([]byte, 0, 18)
	b = append(b, region...)
	b = birth.AppendFormat(b, "20060102")
	b = appendDigits(r, b, 3)
	return string(append(b, idCardCheck(b)))
}

// idCardCheck is the ISO 7064 MOD 11-2 check character of an ID number's first 17 digits.
func idCardCheck(b []byte) byte {
	sum := 0
	for i, w := range idCardWeights {
		sum += int(b[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
var orgCodeWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// uscc returns an 18-character unified social credit code (GB 32100): registration authority and kind (91 a
// company, 92 an individual business), the registering authority's division, the GB 11714 organisation code with
// its check character, and the final check character.
func uscc(r *rand.Rand, divisionCode string, individual bool) string {
	b := make([]byte, 0, 18)
	if individual {
		b = append(b, '9', '2')
	} else {
		b = append(b, '9', '1')
	}
	b = append(b, divisionCode...)
	b = appendDigits(r, b, 8)
	b = append(b, orgCodeCheck(b[8:16]))
	return string(append(b, usccCheck(b)))
}

// orgCodeCheck is the GB 11714 check character of an 8-character organisation code.
func orgCodeCheck(b []byte) byte {
	sum := 0
	for i, w := range orgCodeWeights {
		v := int(b[i] - '0')
		if b[i] >= 'A' {
			v = int(b[i]-'A') + 10
		}
		sum += v * w
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// usccCheck is the GB 32100 check character of a code's first 17 characters.
func usccCheck(b []byte) byte {
	sum := 0
	for i, w := range usccWeights {
		sum += indexByte(usccChars, b[i]) * w
	}
	return usccChars[(31-sum%31)%31]
}

func indexByte(s string, c byte) int {
	for i := range len(s) {
		if s[i] == c {
			return i
		}
	}
	return 0
}

var (
	firmWords = []string{"鑫源", "恒通", "华美", "佳品", "盛达", "新天地", "百联", "优选", "金诺", "瑞丰", "宏图", "永辉",
		"博雅", "天合", "中联", "荣昌", "汇智", "嘉禾", "长江", "楚天", "九州", "锦程", "乐享", "惠民"}
	firmTrades = []string{"商贸", "餐饮管理", "电子科技", "家居", "汽车销售服务", "教育咨询", "健身服务", "美容美发",
		"房地产开发", "电器", "食品", "通讯设备", "网络科技", "物业管理", "旅行社"}
	shopKinds = []string{"便利店", "水果店", "餐馆", "理发店", "手机维修店", "副食店", "药店", "服装店"}
	roads     = []string{"解放大道", "中山大道", "建设大道", "人民路", "解放路", "中山路", "和平路", "胜利路",
		"文化路", "新华路", "长江路", "发展大道", "青年路", "光谷大道", "民主路", "友谊路"}
)

func businessName(r *rand.Rand, cityShort string, individual bool) string {
	if individual {
		return cityShort + firmWords[r.IntN(len(firmWords))] + shopKinds[r.IntN(len(shopKinds))]
	}
	return cityShort + "市" + firmWords[r.IntN(len(firmWords))] + firmTrades[r.IntN(len(firmTrades))] + "有限公司"
}

func address(r *rand.Rand, prefix string) string {
	b := make([]byte, 0, len(prefix)+32)
	b = append(b, prefix...)
	b = append(b, roads[r.IntN(len(roads))]...)
	b = strconv.AppendInt(b, int64(1+r.IntN(999)), 10)
	b = append(b, "号"...)
	if r.IntN(2) == 0 {
		b = strconv.AppendInt(b, int64(1+r.IntN(30)), 10)
		b = append(b, "栋"...)
		b = strconv.AppendInt(b, int64(101+r.IntN(2800)), 10)
		b = append(b, "室"...)
	}
	return string(b)
}

type goods struct {
	category, name   string
	brands           []string // empty: a service without brand
	minYuan, maxYuan int64
}

var catalogue = []goods{
	{"食品", "牛奶", []string{"伊利", "蒙牛", "光明"}, 30, 300},
	{"食品", "月饼礼盒", []string{"稻香村", "美心", "冠生园"}, 80, 800},
	{"食品", "预包装熟食", []string{"周黑鸭", "精武", "久久丫"}, 20, 200},
	{"家用电器", "空调", []string{"格力", "美的", "海尔"}, 2000, 9000},
	{"家用电器", "洗衣机", []string{"海尔", "小天鹅", "西门子"}, 1500, 6000},
	{"通讯器材", "手机", []string{"华为", "小米", "OPPO", "vivo", "荣耀"}, 1000, 8000},
	{"交通工具", "电动自行车", []string{"雅迪", "爱玛", "小牛"}, 2000, 6000},
	{"交通工具", "汽车", []string{"东风", "比亚迪", "吉利"}, 80000, 300000},
	{"服装鞋帽", "运动鞋", []string{"李宁", "安踏", "特步"}, 200, 1200},
	{"服装鞋帽", "羽绒服", []string{"波司登", "雪中飞"}, 500, 3000},
	{"预付式消费", "健身卡", nil, 1000, 8000},
	{"预付式消费", "美容美发卡", nil, 500, 5000},
	{"教育培训服务", "培训课程", nil, 2000, 30000},
	{"餐饮服务", "餐饮", nil, 50, 2000},
	{"家居装修", "瓷砖", []string{"马可波罗", "东鹏"}, 3000, 40000},
	{"房屋", "商品房", nil, 500000, 3000000},
}

var (
	problems  = []string{"存在质量问题", "与宣传不符", "未按约定提供服务", "商家拒绝退款", "存在价格欺诈", "已过保质期", "售后不履行三包义务"}
	demands   = []string{"退货退款", "更换商品", "赔偿损失", "退一赔三", "经营者赔礼道歉"}
	offences  = []string{"销售过期食品", "无证经营", "虚假宣传", "价格违法", "销售假冒伪劣商品", "计量作弊", "未明码标价", "侵犯商标专用权"}
	questions = []string{"七日无理由退货的适用范围", "预付卡退费政策", "食品安全标准", "个体工商户登记流程", "网购商品三包规定", "商品房质量问题的投诉渠道"}
	proposals = []string{"校园周边食品", "直播带货", "预付式消费", "二手车交易市场", "农贸市场计量器具", "网约车计价"}

	// Feedback texts by result code (dictionary types initial_result and final_result).
	initialContents = map[string][]string{
		"1": {"已受理，正在联系消费者核实情况。", "已受理，已联系经营者约定调解时间。"},
		"2": {"经初查不符合受理条件，不予受理。"},
		"3": {"不属于本部门管辖，已移送有管辖权的部门。"},
		"4": {"已告知消费者向有关部门反映。"},
	}
	finalContents = map[string][]string{
		"1": {"经调解双方达成一致，经营者已退赔。", "经调解达成协议，已办结。"},
		"2": {"调解不成功，已告知消费者可通过诉讼途径解决。"},
		"3": {"经核查举报情况属实，已立案调查。"},
		"4": {"经核查未发现违法行为，不予立案。"},
		"5": {"已电话答复，来电人表示满意。"},
		"9": {"已按其他方式办结。"},
	}
	supervisionContents = []string{"请于期限内办结并反馈结果。", "该件已超期，请加快办理。", "群众反映强烈，请重点督办。"}
)

func pick(r *rand.Rand, ss []string) string { return ss[r.IntN(len(ss))] }

// summary writes the work order's text from its kind, the business and the goods.
func summary(r *rand.Rand, kind int16, firm string, g goods) string {
	switch kind {
	case kindComplaint:
		return "消费者反映在" + firm + "购买的" + g.name + pick(r, problems) + "，要求" + pick(r, demands) + "。"
	case kindReport:
		return "举报" + firm + "涉嫌" + pick(r, offences) + "，请求依法查处。"
	case kindEnquiry:
		return "来电咨询" + pick(r, questions) + "。"
	default:
		return "建议加强对" + pick(r, proposals) + "的监管。"
	}
}
