"""The fixed vocabulary of the simulated city: departments, inspection items and the words
report texts are built from. Plain data; the generators draw from it with a seeded RNG."""

from __future__ import annotations

DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("civil-affairs", "民政"),
    ("market-supervision", "市场监管"),
    ("law-enforcement", "综合执法"),
    ("work-safety", "安全生产"),
    ("fire", "消防"),
    ("housing", "住建"),
    ("health", "卫健"),
    ("public-security", "公安"),
    ("justice", "司法"),
    ("ecology", "生态环境"),
    ("water", "水利"),
    ("transport", "交通运输"),
    ("natural-resources", "自然资源和规划"),
    ("human-resources", "人力社保"),
    ("education", "教育"),
    ("agriculture", "农业农村"),
    ("culture-tourism", "文化旅游"),
    ("emergency", "应急管理"),
    ("petitions", "信访"),
    ("utilities", "供水供电"),
    ("sanitation", "环卫"),
    ("community-affairs", "社区事务"),
)

# code, name, default department, priority weight (share of urgent reports), texts
CATEGORIES: tuple[tuple[str, str, str, float, tuple[str, ...]], ...] = (
    ("relief", "民政救助", "civil-affairs", 0.05, ("低保户生活困难", "独居老人无人照料", "困难家庭申请救助")),
    ("food-drug", "食品药品", "market-supervision", 0.15, ("小餐馆后厨卫生差", "过期食品在售", "无证药店售药")),
    ("appearance", "市容市貌", "law-enforcement", 0.02, ("占道经营", "乱贴小广告", "店外乱堆杂物")),
    ("safety-hazard", "安全隐患", "work-safety", 0.25, ("电动车楼道充电", "脚手架松动", "燃气管道老化")),
    ("dispute", "邻里纠纷", "justice", 0.05, ("邻居装修噪音扰民", "楼上漏水纠纷", "宠物扰邻")),
    ("fire", "火灾隐患", "fire", 0.4, ("消防通道堵塞", "灭火器过期", "出租房私拉电线")),
    ("illegal-building", "违章建筑", "natural-resources", 0.05, ("屋顶违章搭建", "院内私建棚屋", "违规加层")),
    ("garbage", "垃圾分类", "sanitation", 0.02, ("垃圾桶满溢", "垃圾未分类投放", "建筑垃圾乱倒")),
    ("road", "道路设施", "transport", 0.1, ("路面坑洼积水", "井盖缺失", "路灯不亮")),
    ("water-supply", "供水供电", "utilities", 0.15, ("小区停水", "水管爆裂", "电线垂落")),
    ("pollution", "环境污染", "ecology", 0.1, ("河道发黑发臭", "工厂排放异味", "夜间施工扬尘")),
    ("housing", "房屋安全", "housing", 0.2, ("老旧房屋墙体开裂", "阳台栏杆锈蚀", "危房有人居住")),
    ("public-order", "治安防范", "public-security", 0.2, ("可疑人员出没", "电动车被盗", "夜间聚众喧哗")),
    ("health", "卫生健康", "health", 0.1, ("诊所无证行医", "蚊虫孳生", "公厕脏乱")),
    ("labour", "劳资纠纷", "human-resources", 0.1, ("拖欠农民工工资", "未签劳动合同", "工伤赔偿争议")),
    ("flood", "防汛防台", "water", 0.3, ("排水沟堵塞", "地下车库进水", "河堤渗漏")),
    ("rental", "出租房管理", "public-security", 0.05, ("群租房人员混杂", "出租房未登记", "出租屋消防不达标")),
    ("education", "教育管理", "education", 0.05, ("校外培训无资质", "学校门口交通拥堵", "辍学儿童")),
    ("agriculture", "农业农村", "agriculture", 0.05, ("农田抛荒", "秸秆焚烧", "农药包装乱丢")),
    ("tourism", "文化旅游", "culture-tourism", 0.02, ("景区违规经营", "文物保护不力", "娱乐场所噪音")),
    ("emergency", "应急管理", "emergency", 0.4, ("危化品违规存放", "应急物资不足", "山体滑坡隐患")),
    ("petition", "信访诉求", "petitions", 0.05, ("拆迁补偿诉求", "物业服务投诉", "停车位分配纠纷")),
    ("greening", "园林绿化", "law-enforcement", 0.02, ("绿化带毁坏", "树木倒伏", "私自砍伐树木")),
    ("parking", "停车管理", "law-enforcement", 0.02, ("乱停车堵塞通道", "僵尸车占位", "私设地锁")),
    ("elderly", "养老服务", "civil-affairs", 0.05, ("养老院服务差", "老人走失", "助餐点关闭")),
    ("special-groups", "特殊人群", "justice", 0.1, ("社区矫正人员失联", "精神障碍患者走失", "吸毒人员复吸")),
    ("property", "物业管理", "community-affairs", 0.02, ("电梯故障困人", "小区门禁损坏", "物业费纠纷")),
    ("stray-animals", "流浪动物", "community-affairs", 0.02, ("流浪狗伤人", "流浪猫扰民", "犬只未拴绳")),
)

PLACES = ("菜市场", "小区东门", "河边", "老街", "工业园区", "学校附近", "公园", "出租楼", "商业街", "村口")
DETAILS = ("情况反复出现", "居民多次反映", "存在较大安全风险", "影响周边住户", "需尽快处理", "已拍照留存")

DISTRICTS: tuple[tuple[str, str], ...] = (
    ("haishu", "海曙区"), ("jiangbei", "江北区"), ("zhenhai", "镇海区"), ("beilun", "北仑区"),
    ("yinzhou", "鄞州区"), ("fenghua", "奉化区"), ("yuyao", "余姚市"), ("cixi", "慈溪市"),
    ("ninghai", "宁海县"), ("xiangshan", "象山县"),
)
