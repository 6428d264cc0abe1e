#!/usr/bin/env python3
"""Generate the bundled sample data for domaintune (medicine, zh + en).

Everything here is written for the domaintune project from hand-written fact
tables and sentence templates; no third-party text is copied.  The output is
deterministic (``random.Random(0)``), stdlib only.

    python scripts/make_sample_data.py

writes JSON Lines files into ``src/domaintune/resources/data/``.

The medical facts are broad textbook-level statements intended as sample
training data only.  They are NOT medical advice.
"""
from __future__ import annotations

import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "src", "domaintune", "resources", "data")

# Byte budgets (UTF-8) for the corpora.
DOMAIN_BYTES = 1_200_000
GENERAL_BYTES = 500_000
N_HELDOUT_DOMAIN = 60
N_HELDOUT_GENERAL = 60
N_SFT_ALPACA = 400
N_SFT_SHAREGPT = 120
N_GENERAL_INSTR = 300
N_MCQ = 48


def P(s):
    """Parse 'zh|en;zh|en' into a list of (zh, en) pairs."""
    out = []
    for item in s.split(";"):
        item = item.strip()
        if not item:
            continue
        zh, en = item.split("|")
        out.append((zh.strip(), en.strip()))
    return out


def P1(s):
    return P(s)[0]


# ---------------------------------------------------------------------------
# Drug table
# key: name, class, indication, mechanism, typical adult dose, side effects,
#      contraindications / cautions
# ---------------------------------------------------------------------------
_DRUGS = [
    ("metformin", "二甲双胍|metformin", "双胍类降糖药|a biguanide glucose-lowering drug",
     "2型糖尿病|type 2 diabetes",
     "减少肝脏葡萄糖输出并改善外周组织对胰岛素的敏感性|reducing glucose output from the liver and improving insulin sensitivity",
     "起始500 mg，每日1至2次，随餐服用，逐渐加量至每日1500至2000 mg|500 mg once or twice daily with meals at first, increased gradually to 1,500-2,000 mg per day",
     "恶心|nausea;腹泻|diarrhoea;腹部不适|abdominal discomfort;长期使用可致维生素B12缺乏|vitamin B12 deficiency with long-term use",
     "严重肾功能不全|severe kidney impairment;乳酸酸中毒病史|a history of lactic acidosis;使用碘造影剂前后需暂停|it should be paused around iodinated contrast"),
    ("amlodipine", "氨氯地平|amlodipine", "二氢吡啶类钙通道阻滞剂|a dihydropyridine calcium channel blocker",
     "高血压和稳定型心绞痛|hypertension and stable angina",
     "阻断血管平滑肌上的钙通道，使外周动脉扩张|blocking calcium channels in vascular smooth muscle so that arteries relax",
     "5 mg，每日一次，必要时增至10 mg|5 mg once daily, increased to 10 mg if needed",
     "踝部水肿|ankle swelling;面部潮红|flushing;头痛|headache;心悸|palpitations",
     "心源性休克|cardiogenic shock;严重低血压|severe hypotension"),
    ("lisinopril", "赖诺普利|lisinopril", "血管紧张素转换酶抑制剂（ACEI）|an angiotensin-converting enzyme (ACE) inhibitor",
     "高血压、心力衰竭和糖尿病肾病|hypertension, heart failure and diabetic kidney disease",
     "抑制血管紧张素转换酶，减少血管紧张素II的生成|inhibiting ACE and so reducing the formation of angiotensin II",
     "10 mg，每日一次，常用维持量为每日10至40 mg|10 mg once daily, usual maintenance 10-40 mg daily",
     "干咳|dry cough;高钾血症|high potassium;头晕|dizziness;血管性水肿（少见但严重）|angioedema (rare but serious)",
     "妊娠|pregnancy;既往血管性水肿|previous angioedema;双侧肾动脉狭窄|bilateral renal artery stenosis"),
    ("losartan", "氯沙坦|losartan", "血管紧张素II受体拮抗剂（ARB）|an angiotensin II receptor blocker (ARB)",
     "高血压和伴蛋白尿的糖尿病肾病|hypertension and diabetic kidney disease with proteinuria",
     "阻断血管紧张素II的AT1受体|blocking the AT1 receptor for angiotensin II",
     "50 mg，每日一次，可增至100 mg|50 mg once daily, up to 100 mg",
     "头晕|dizziness;高钾血症|high potassium;肾功能一过性下降|a temporary fall in kidney function",
     "妊娠|pregnancy;双侧肾动脉狭窄|bilateral renal artery stenosis"),
    ("hctz", "氢氯噻嗪|hydrochlorothiazide", "噻嗪类利尿剂|a thiazide diuretic",
     "高血压和轻度水肿|hypertension and mild oedema",
     "抑制远曲小管对钠和氯的重吸收|blocking sodium and chloride reabsorption in the distal tubule",
     "12.5至25 mg，每日一次|12.5-25 mg once daily",
     "低钾血症|low potassium;血尿酸升高|raised uric acid;血糖升高|raised blood glucose;光敏感|photosensitivity",
     "无尿|anuria;痛风患者慎用|caution in gout"),
    ("metoprolol", "美托洛尔|metoprolol", "选择性β1受体阻滞剂|a cardioselective beta-blocker",
     "高血压、心绞痛、心力衰竭及心房颤动的心率控制|hypertension, angina, heart failure and rate control in atrial fibrillation",
     "阻断心脏β1受体，减慢心率并降低心肌耗氧量|blocking cardiac beta-1 receptors, slowing the heart and lowering oxygen demand",
     "缓释片每日一次47.5至190 mg，普通片25至100 mg每日两次|modified-release 47.5-190 mg once daily, or standard tablets 25-100 mg twice daily",
     "乏力|tiredness;心动过缓|slow heart rate;四肢发冷|cold hands and feet;头晕|dizziness",
     "严重心动过缓|severe bradycardia;二度及以上房室传导阻滞|second- or third-degree heart block;急性失代偿性心力衰竭|acutely decompensated heart failure"),
    ("atorvastatin", "阿托伐他汀|atorvastatin", "他汀类调脂药|a statin (lipid-lowering drug)",
     "高胆固醇血症及动脉粥样硬化性心血管疾病的防治|high cholesterol and prevention of atherosclerotic cardiovascular disease",
     "抑制HMG-CoA还原酶，减少肝脏胆固醇合成|inhibiting HMG-CoA reductase and so cutting cholesterol synthesis in the liver",
     "10至20 mg，每日一次，高危患者可用40至80 mg|10-20 mg once daily, 40-80 mg in high-risk patients",
     "肌肉酸痛|muscle aches;转氨酶升高|raised liver enzymes;罕见横纹肌溶解|rarely rhabdomyolysis",
     "活动性肝病|active liver disease;妊娠和哺乳|pregnancy and breastfeeding"),
    ("aspirin", "阿司匹林|aspirin", "抗血小板药|an antiplatelet drug",
     "冠心病和缺血性脑卒中的二级预防|secondary prevention of coronary heart disease and ischaemic stroke",
     "不可逆地抑制环氧化酶-1，减少血栓素A2生成|irreversibly inhibiting cyclo-oxygenase-1 and reducing thromboxane A2",
     "75至100 mg，每日一次|75-100 mg once daily",
     "消化不良|indigestion;胃肠道出血|gastrointestinal bleeding;易出现瘀斑|easy bruising",
     "活动性消化道出血|active gastrointestinal bleeding;阿司匹林过敏或阿司匹林哮喘|aspirin allergy or aspirin-sensitive asthma;16岁以下儿童（瑞氏综合征风险）|children under 16 (risk of Reye's syndrome)"),
    ("clopidogrel", "氯吡格雷|clopidogrel", "P2Y12受体抑制剂|a P2Y12 inhibitor",
     "急性冠脉综合征、冠脉支架术后及缺血性脑卒中|acute coronary syndrome, after coronary stenting and ischaemic stroke",
     "阻断血小板ADP受体P2Y12，抑制血小板聚集|blocking the platelet ADP receptor P2Y12 and preventing platelet aggregation",
     "75 mg，每日一次，必要时先给负荷量300至600 mg|75 mg once daily, after a loading dose of 300-600 mg when needed",
     "出血|bleeding;瘀斑|bruising;腹泻|diarrhoea",
     "活动性出血|active bleeding;严重肝功能损害|severe liver impairment"),
    ("nitroglycerin", "硝酸甘油|glyceryl trinitrate (nitroglycerin)", "硝酸酯类药物|a nitrate",
     "心绞痛急性发作|relief of acute angina attacks",
     "释放一氧化氮，扩张静脉和冠状动脉|releasing nitric oxide and dilating veins and coronary arteries",
     "0.5 mg舌下含服，5分钟后可重复，最多3次|0.3-0.6 mg under the tongue, repeated after 5 minutes up to three times",
     "头痛|headache;低血压|low blood pressure;面部潮红|flushing",
     "正在使用西地那非等PDE5抑制剂|current use of PDE5 inhibitors such as sildenafil;严重低血压|severe hypotension"),
    ("furosemide", "呋塞米|furosemide", "袢利尿剂|a loop diuretic",
     "心力衰竭引起的水肿和急性肺水肿|oedema from heart failure and acute pulmonary oedema",
     "抑制髓袢升支粗段的钠钾氯共转运体|blocking the Na-K-2Cl co-transporter in the loop of Henle",
     "20至40 mg口服，每日一次，根据体重和尿量调整|20-40 mg by mouth once daily, adjusted to weight and urine output",
     "低钾血症|low potassium;脱水|dehydration;低血压|low blood pressure;大剂量时耳毒性|ototoxicity at high doses",
     "无尿|anuria;严重低钠或低钾血症|severe low sodium or potassium"),
    ("warfarin", "华法林|warfarin", "维生素K拮抗剂类口服抗凝药|a vitamin K antagonist anticoagulant",
     "心房颤动、深静脉血栓和机械心脏瓣膜置换术后|atrial fibrillation, deep vein thrombosis and mechanical heart valves",
     "抑制维生素K依赖性凝血因子的合成|blocking the synthesis of vitamin K-dependent clotting factors",
     "个体化给药，常用每日2至5 mg，根据INR调整，目标多为2.0至3.0|individual dosing, often 2-5 mg daily, adjusted to a target INR usually of 2.0-3.0",
     "出血|bleeding;瘀斑|bruising;与多种药物和食物相互作用|many drug and food interactions",
     "活动性出血|active bleeding;妊娠|pregnancy"),
    ("rivaroxaban", "利伐沙班|rivaroxaban", "直接Xa因子抑制剂|a direct factor Xa inhibitor",
     "非瓣膜性房颤的卒中预防和深静脉血栓的治疗|stroke prevention in non-valvular atrial fibrillation and treatment of deep vein thrombosis",
     "直接抑制凝血因子Xa|directly inhibiting clotting factor Xa",
     "房颤患者20 mg，每日一次，随晚餐服用|20 mg once daily with the evening meal for atrial fibrillation",
     "出血|bleeding;贫血|anaemia;恶心|nausea",
     "活动性出血|active bleeding;机械心脏瓣膜|mechanical heart valves;严重肝病|severe liver disease"),
    ("enoxaparin", "依诺肝素|enoxaparin", "低分子肝素|a low-molecular-weight heparin",
     "深静脉血栓的预防和治疗|prevention and treatment of deep vein thrombosis",
     "增强抗凝血酶的作用，主要抑制Xa因子|enhancing antithrombin, mainly against factor Xa",
     "治疗剂量1 mg/kg，每12小时皮下注射一次；预防剂量40 mg，每日一次|treatment 1 mg/kg subcutaneously every 12 hours, or 40 mg once daily for prophylaxis",
     "出血|bleeding;注射部位瘀斑|bruising at the injection site;血小板减少|low platelets",
     "活动性出血|active bleeding;肝素诱导的血小板减少症病史|a history of heparin-induced thrombocytopenia"),
    ("insulin_glargine", "甘精胰岛素|insulin glargine", "长效胰岛素类似物|a long-acting insulin analogue",
     "1型和2型糖尿病|type 1 and type 2 diabetes",
     "平稳补充基础胰岛素，抑制肝糖输出|providing steady basal insulin and suppressing liver glucose output",
     "起始每日10 U或0.1至0.2 U/kg，睡前或固定时间皮下注射，根据空腹血糖调整|10 units or 0.1-0.2 units/kg once daily at the same time, titrated to fasting glucose",
     "低血糖|hypoglycaemia;体重增加|weight gain;注射部位脂肪增生|lipohypertrophy at injection sites",
     "正在发生的低血糖|an ongoing hypoglycaemic episode"),
    ("empagliflozin", "恩格列净|empagliflozin", "SGLT2抑制剂|an SGLT2 inhibitor",
     "2型糖尿病，并可用于心力衰竭和慢性肾脏病|type 2 diabetes, and also heart failure and chronic kidney disease",
     "抑制肾脏近曲小管的钠-葡萄糖协同转运蛋白2，使葡萄糖从尿中排出|blocking sodium-glucose co-transporter 2 in the kidney so that glucose is lost in urine",
     "10 mg，每日一次，可增至25 mg|10 mg once daily, up to 25 mg",
     "生殖器真菌感染|genital fungal infections;尿路感染|urinary tract infections;脱水|dehydration;罕见酮症酸中毒|rarely ketoacidosis",
     "1型糖尿病|type 1 diabetes;透析患者|patients on dialysis"),
    ("salbutamol", "沙丁胺醇|salbutamol (albuterol)", "短效β2受体激动剂|a short-acting beta-2 agonist",
     "哮喘和慢阻肺急性症状的缓解|quick relief of asthma and COPD symptoms",
     "激动支气管平滑肌β2受体，迅速舒张气道|stimulating beta-2 receptors in airway smooth muscle so the airways open quickly",
     "气雾剂100至200 μg，按需吸入|100-200 micrograms by inhaler as needed",
     "心悸|palpitations;手抖|tremor;低钾血症|low potassium",
     "对本品过敏|allergy to the drug"),
    ("budesonide_formoterol", "布地奈德/福莫特罗|budesonide/formoterol", "吸入糖皮质激素与长效β2激动剂复方制剂|an inhaled corticosteroid plus long-acting beta-2 agonist combination",
     "哮喘和慢阻肺的维持治疗|maintenance treatment of asthma and COPD",
     "布地奈德减轻气道炎症，福莫特罗持续舒张支气管|budesonide reduces airway inflammation while formoterol keeps the airways open",
     "160/4.5 μg，每次1至2吸，每日两次|160/4.5 micrograms, one or two puffs twice daily",
     "声音嘶哑|hoarseness;口腔念珠菌感染|oral thrush;心悸|palpitations",
     "对成分过敏|allergy to either component;吸药后需漱口|patients should rinse the mouth after use"),
    ("tiotropium", "噻托溴铵|tiotropium", "长效抗胆碱能支气管扩张剂|a long-acting antimuscarinic bronchodilator",
     "慢阻肺的维持治疗|maintenance treatment of COPD",
     "阻断气道M3受体，使支气管持续舒张|blocking M3 receptors in the airways for long-lasting bronchodilation",
     "18 μg吸入，每日一次|18 micrograms inhaled once daily",
     "口干|dry mouth;便秘|constipation;排尿困难|difficulty passing urine",
     "闭角型青光眼慎用|caution in angle-closure glaucoma;前列腺增生伴尿潴留慎用|caution in prostate enlargement with urinary retention"),
    ("montelukast", "孟鲁司特|montelukast", "白三烯受体拮抗剂|a leukotriene receptor antagonist",
     "哮喘的辅助控制和过敏性鼻炎|add-on asthma control and allergic rhinitis",
     "阻断半胱氨酰白三烯受体，减轻气道炎症|blocking cysteinyl leukotriene receptors to reduce airway inflammation",
     "10 mg，每晚一次|10 mg once in the evening",
     "头痛|headache;睡眠障碍|sleep disturbance;情绪改变|mood changes",
     "出现情绪或行为异常时应停药就医|stop and seek advice if mood or behaviour changes"),
    ("prednisone", "泼尼松|prednisone", "口服糖皮质激素|an oral corticosteroid",
     "哮喘急性发作、慢阻肺急性加重及多种炎症性疾病|asthma attacks, COPD exacerbations and many inflammatory diseases",
     "广泛抑制炎症和免疫反应|broadly suppressing inflammation and immune responses",
     "急性加重时40 mg，每日一次，共5天|40 mg once daily for 5 days in an exacerbation",
     "血糖升高|raised blood glucose;失眠|insomnia;情绪波动|mood swings;长期使用导致骨质疏松|osteoporosis with long-term use",
     "未控制的感染|uncontrolled infection;长期使用后不可突然停药|must not be stopped abruptly after long courses"),
    ("amoxicillin", "阿莫西林|amoxicillin", "青霉素类抗生素|a penicillin antibiotic",
     "社区获得性肺炎、急性中耳炎和幽门螺杆菌根除|community-acquired pneumonia, acute otitis media and Helicobacter pylori eradication",
     "抑制细菌细胞壁的合成|inhibiting bacterial cell wall synthesis",
     "500 mg每8小时一次，肺炎时可用1 g每日三次|500 mg every 8 hours, or 1 g three times daily for pneumonia",
     "皮疹|rash;腹泻|diarrhoea;恶心|nausea;过敏反应|allergic reactions",
     "青霉素过敏|penicillin allergy"),
    ("azithromycin", "阿奇霉素|azithromycin", "大环内酯类抗生素|a macrolide antibiotic",
     "非典型病原体引起的肺炎及部分呼吸道感染|atypical pneumonia and some respiratory tract infections",
     "与细菌核糖体50S亚基结合，抑制蛋白质合成|binding the 50S ribosomal subunit and blocking bacterial protein synthesis",
     "第1天500 mg，第2至5天每日250 mg|500 mg on day 1, then 250 mg daily on days 2-5",
     "恶心|nausea;腹泻|diarrhoea;QT间期延长|QT prolongation",
     "大环内酯类过敏|macrolide allergy;QT间期延长者慎用|caution with a long QT interval"),
    ("nitrofurantoin", "呋喃妥因|nitrofurantoin", "硝基呋喃类尿路抗菌药|a nitrofuran urinary antibacterial",
     "单纯性膀胱炎|uncomplicated cystitis",
     "在尿液中浓集并损伤细菌DNA|concentrating in urine and damaging bacterial DNA",
     "100 mg，每日两次，共5天|100 mg twice daily for 5 days",
     "恶心|nausea;头痛|headache;尿色变深|dark urine",
     "严重肾功能不全|severe kidney impairment;妊娠足月|late pregnancy at term"),
    ("oseltamivir", "奥司他韦|oseltamivir", "神经氨酸酶抑制剂|a neuraminidase inhibitor",
     "流感的治疗和预防|treatment and prevention of influenza",
     "抑制流感病毒神经氨酸酶，阻止新病毒颗粒释放|inhibiting influenza neuraminidase so new virus particles cannot be released",
     "75 mg，每日两次，共5天，最好在发病48小时内开始|75 mg twice daily for 5 days, ideally started within 48 hours of symptoms",
     "恶心|nausea;呕吐|vomiting;头痛|headache",
     "对本品过敏|allergy to the drug"),
    ("isoniazid", "异烟肼|isoniazid", "一线抗结核药|a first-line antituberculosis drug",
     "结核病|tuberculosis",
     "抑制结核分枝杆菌细胞壁中分枝菌酸的合成|blocking mycolic acid synthesis in the mycobacterial cell wall",
     "300 mg，每日一次，与其他抗结核药联合使用|300 mg once daily in combination with other TB drugs",
     "肝毒性|liver toxicity;周围神经病（可补充维生素B6预防）|peripheral neuropathy (prevented with vitamin B6)",
     "急性肝病|acute liver disease"),
    ("rifampicin", "利福平|rifampicin", "利福霉素类抗结核药|a rifamycin antituberculosis drug",
     "结核病|tuberculosis",
     "抑制细菌DNA依赖性RNA聚合酶|inhibiting bacterial DNA-dependent RNA polymerase",
     "每日一次，每公斤体重10 mg，最大600 mg，空腹服用|10 mg/kg once daily, maximum 600 mg, on an empty stomach",
     "肝毒性|liver toxicity;尿液和泪液呈橙红色|orange-red urine and tears;药物相互作用多|many drug interactions",
     "黄疸|jaundice;与部分抗病毒药合用|use with some antiviral drugs"),
    ("omeprazole", "奥美拉唑|omeprazole", "质子泵抑制剂（PPI）|a proton pump inhibitor (PPI)",
     "胃食管反流病、消化性溃疡和幽门螺杆菌根除|reflux disease, peptic ulcer and Helicobacter pylori eradication",
     "不可逆抑制胃壁细胞的H+/K+-ATP酶，减少胃酸分泌|irreversibly blocking the H+/K+-ATPase of parietal cells to cut acid secretion",
     "20 mg，每日一次，早餐前服用；根除幽门螺杆菌时每日两次|20 mg once daily before breakfast, or twice daily for H. pylori eradication",
     "头痛|headache;腹泻|diarrhoea;长期使用可致低镁血症|low magnesium with long-term use",
     "对本品过敏|allergy to the drug;长期使用需定期评估|long-term use should be reviewed"),
    ("ors", "口服补液盐|oral rehydration salts", "电解质补充剂|an electrolyte replacement",
     "腹泻引起的脱水|dehydration from diarrhoea",
     "利用钠-葡萄糖协同转运促进肠道吸收水分|using sodium-glucose co-transport to drive water absorption in the gut",
     "按说明用温开水配制，少量多次口服，每次稀便后补充200至400 ml|made up with water as directed and sipped often, 200-400 ml after each loose stool",
     "恶心|nausea;配制过浓可致高钠|high sodium if made up too strong",
     "严重脱水或持续呕吐需静脉补液|severe dehydration or persistent vomiting needs intravenous fluids"),
    ("metronidazole", "甲硝唑|metronidazole", "硝基咪唑类抗菌药|a nitroimidazole antimicrobial",
     "厌氧菌感染、阿米巴病和艰难梭菌感染|anaerobic infections, amoebiasis and Clostridioides difficile infection",
     "在厌氧环境中还原后破坏微生物DNA|being reduced in anaerobic organisms and then damaging their DNA",
     "400至500 mg，每日三次|400-500 mg three times daily",
     "金属味|metallic taste;恶心|nausea;与酒精同用可出现双硫仑样反应|a disulfiram-like reaction with alcohol",
     "服药期间及停药后48小时内饮酒|alcohol during treatment and for 48 hours after;妊娠早期慎用|caution in early pregnancy"),
    ("entecavir", "恩替卡韦|entecavir", "核苷类似物抗病毒药|a nucleoside analogue antiviral",
     "慢性乙型肝炎|chronic hepatitis B",
     "抑制乙肝病毒聚合酶，阻断病毒复制|inhibiting the hepatitis B virus polymerase and stopping replication",
     "0.5 mg，每日一次，空腹服用|0.5 mg once daily on an empty stomach",
     "头痛|headache;乏力|fatigue;恶心|nausea",
     "擅自停药可致肝炎急性加重|stopping suddenly can cause a hepatitis flare"),
    ("tenofovir", "替诺福韦|tenofovir", "核苷酸类似物抗病毒药|a nucleotide analogue antiviral",
     "慢性乙型肝炎和HIV感染|chronic hepatitis B and HIV infection",
     "抑制病毒逆转录酶或聚合酶|inhibiting viral reverse transcriptase or polymerase",
     "富马酸替诺福韦二吡呋酯300 mg，每日一次|tenofovir disoproxil 300 mg once daily",
     "肾功能损害|kidney impairment;骨密度下降|reduced bone density;恶心|nausea",
     "严重肾功能不全需调整剂量|dose adjustment in severe kidney impairment"),
    ("levothyroxine", "左甲状腺素|levothyroxine", "甲状腺激素替代药|a thyroid hormone replacement",
     "甲状腺功能减退症|hypothyroidism",
     "补充外源性T4，在体内转化为T3发挥作用|replacing T4, which is converted to active T3 in the body",
     "约1.6 μg/kg，每日一次，早餐前30至60分钟空腹服用；老年人或心脏病患者从25至50 μg起|about 1.6 micrograms/kg once daily, 30-60 minutes before breakfast, starting at 25-50 micrograms in older or cardiac patients",
     "剂量过大时心悸|palpitations if the dose is too high;失眠|insomnia;长期过量致骨量丢失|bone loss with long-term excess",
     "未纠正的肾上腺皮质功能不全|untreated adrenal insufficiency;急性心肌梗死|acute myocardial infarction"),
    ("methimazole", "甲巯咪唑|methimazole (thiamazole)", "抗甲状腺药|an antithyroid drug",
     "Graves病等原因引起的甲状腺功能亢进症|hyperthyroidism, especially Graves' disease",
     "抑制甲状腺过氧化物酶，减少甲状腺激素合成|inhibiting thyroid peroxidase and reducing thyroid hormone synthesis",
     "起始每日10至30 mg，甲功正常后减至每日5至10 mg维持|10-30 mg daily at first, then 5-10 mg daily for maintenance",
     "皮疹|rash;肝功能损害|liver injury;粒细胞缺乏（出现发热、咽痛应立即查血常规）|agranulocytosis (check a blood count at once if fever or sore throat)",
     "妊娠早期通常改用丙硫氧嘧啶|propylthiouracil is usually preferred in early pregnancy"),
    ("alendronate", "阿仑膦酸钠|alendronate", "双膦酸盐类抗骨质疏松药|a bisphosphonate",
     "骨质疏松症|osteoporosis",
     "抑制破骨细胞介导的骨吸收|inhibiting osteoclast-mediated bone resorption",
     "70 mg，每周一次，晨起空腹用一大杯清水送服，服药后保持直立至少30分钟|70 mg once weekly on waking with a full glass of water, staying upright for at least 30 minutes",
     "食管炎|oesophagitis;腹痛|abdominal pain;罕见颌骨坏死|rarely osteonecrosis of the jaw",
     "食管排空障碍|oesophageal emptying disorders;无法保持直立30分钟|inability to stay upright for 30 minutes;低钙血症|low calcium"),
    ("ibuprofen", "布洛芬|ibuprofen", "非甾体抗炎药（NSAID）|a non-steroidal anti-inflammatory drug (NSAID)",
     "疼痛、发热和骨关节炎症状|pain, fever and osteoarthritis symptoms",
     "抑制环氧化酶，减少前列腺素生成|inhibiting cyclo-oxygenase and reducing prostaglandin production",
     "200至400 mg，每6至8小时一次，非处方使用每日不超过1200 mg|200-400 mg every 6-8 hours, no more than 1,200 mg a day without medical advice",
     "胃痛|stomach pain;消化道出血|gastrointestinal bleeding;肾功能损害|kidney injury;血压升高|raised blood pressure",
     "活动性消化性溃疡|active peptic ulcer;严重心力衰竭|severe heart failure;妊娠晚期|late pregnancy"),
    ("paracetamol", "对乙酰氨基酚|paracetamol (acetaminophen)", "解热镇痛药|an analgesic and antipyretic",
     "发热和轻中度疼痛|fever and mild to moderate pain",
     "主要在中枢抑制前列腺素合成|mainly inhibiting prostaglandin synthesis in the central nervous system",
     "500至1000 mg，每4至6小时一次，每日不超过4 g|500-1,000 mg every 4-6 hours, no more than 4 g a day",
     "恶心|nausea;皮疹（少见）|rash (uncommon);过量可致严重肝损伤|serious liver damage in overdose",
     "严重肝病|severe liver disease;避免同时服用多种含该成分的感冒药|avoid combining several cold remedies that contain it"),
    ("methotrexate", "甲氨蝶呤|methotrexate", "改善病情的抗风湿药（DMARD）|a disease-modifying antirheumatic drug (DMARD)",
     "类风湿关节炎和银屑病|rheumatoid arthritis and psoriasis",
     "抑制二氢叶酸还原酶并具有免疫调节作用|inhibiting dihydrofolate reductase and modulating the immune system",
     "每周一次（不是每日），7.5至15 mg起，可增至25 mg，同时补充叶酸|once weekly (not daily), starting at 7.5-15 mg and rising to 25 mg, with folic acid",
     "口腔溃疡|mouth ulcers;恶心|nausea;肝毒性|liver toxicity;骨髓抑制|bone marrow suppression",
     "妊娠|pregnancy;严重肝肾功能不全|severe liver or kidney impairment;大量饮酒|heavy alcohol use"),
    ("allopurinol", "别嘌醇|allopurinol", "黄嘌呤氧化酶抑制剂|a xanthine oxidase inhibitor",
     "痛风的长期降尿酸治疗|long-term urate-lowering treatment in gout",
     "抑制黄嘌呤氧化酶，减少尿酸生成|inhibiting xanthine oxidase and reducing uric acid production",
     "起始100 mg，每日一次，每2至4周逐渐加量，常用每日300 mg，以血尿酸达标为准|100 mg once daily, raised every 2-4 weeks, often to 300 mg daily, guided by serum urate",
     "皮疹|rash;可诱发急性痛风发作|triggering gout flares early on;罕见严重超敏反应|rarely severe hypersensitivity",
     "既往严重过敏反应|previous severe reaction;用药前可检测HLA-B*5801|HLA-B*5801 testing may be done beforehand"),
    ("colchicine", "秋水仙碱|colchicine", "抗痛风药|an anti-gout drug",
     "急性痛风发作|acute gout flares",
     "抑制中性粒细胞微管聚合，减轻炎症反应|disrupting neutrophil microtubules and damping inflammation",
     "首剂1 mg，1小时后再服0.5 mg，之后可每日0.5 mg，一至两次|1 mg at first, 0.5 mg one hour later, then 0.5 mg once or twice daily",
     "腹泻|diarrhoea;恶心|nausea;腹痛|abdominal pain",
     "严重肝肾功能不全|severe liver or kidney impairment;与强效CYP3A4抑制剂合用|use with strong CYP3A4 inhibitors"),
    ("ferrous_sulfate", "硫酸亚铁|ferrous sulfate", "口服铁剂|an oral iron supplement",
     "缺铁性贫血|iron deficiency anaemia",
     "补充合成血红蛋白所需的铁|replacing iron needed to make haemoglobin",
     "每片200 mg（含元素铁约65 mg），每日一次或隔日一次|200 mg tablets (about 65 mg elemental iron) once daily or on alternate days",
     "便秘|constipation;黑便|black stools;胃部不适|stomach upset",
     "血色病等铁过载疾病|iron overload such as haemochromatosis"),
    ("sumatriptan", "舒马普坦|sumatriptan", "曲普坦类抗偏头痛药|a triptan",
     "偏头痛急性发作|acute migraine attacks",
     "激动5-HT1B/1D受体，收缩扩张的颅内血管并抑制神经肽释放|stimulating 5-HT1B/1D receptors, narrowing dilated cranial vessels and blocking neuropeptide release",
     "50至100 mg口服，2小时后可重复，每日不超过200 mg|50-100 mg by mouth, repeated after 2 hours if needed, no more than 200 mg a day",
     "胸部紧缩感|chest tightness;感觉异常|tingling;头晕|dizziness",
     "冠心病|coronary heart disease;未控制的高血压|uncontrolled hypertension;既往脑卒中|previous stroke"),
    ("levetiracetam", "左乙拉西坦|levetiracetam", "抗癫痫药|an antiseizure medicine",
     "局灶性和全面性癫痫发作|focal and generalised epileptic seizures",
     "与突触囊泡蛋白SV2A结合，调节神经递质释放|binding synaptic vesicle protein SV2A and modulating neurotransmitter release",
     "500 mg，每日两次，可逐渐增至1500 mg每日两次|500 mg twice daily, increased gradually up to 1,500 mg twice daily",
     "嗜睡|drowsiness;易激惹|irritability;情绪低落|low mood",
     "肾功能不全需减量|dose reduction in kidney impairment;不可突然停药|must not be stopped suddenly"),
    ("levodopa", "左旋多巴/卡比多巴|levodopa/carbidopa", "多巴胺前体复方制剂|a dopamine precursor combination",
     "帕金森病|Parkinson's disease",
     "左旋多巴在脑内转化为多巴胺，卡比多巴减少其外周分解|levodopa is converted to dopamine in the brain while carbidopa reduces its breakdown elsewhere",
     "25/100 mg，每日三次起，逐渐调整|25/100 mg three times daily at first, adjusted gradually",
     "恶心|nausea;体位性低血压|postural hypotension;长期使用后的运动波动和异动症|motor fluctuations and dyskinesia after years of use",
     "闭角型青光眼|angle-closure glaucoma;与非选择性MAO抑制剂合用|use with non-selective MAO inhibitors"),
    ("donepezil", "多奈哌齐|donepezil", "胆碱酯酶抑制剂|a cholinesterase inhibitor",
     "轻中度阿尔茨海默病|mild to moderate Alzheimer's disease",
     "抑制乙酰胆碱酯酶，提高脑内乙酰胆碱水平|inhibiting acetylcholinesterase and raising acetylcholine in the brain",
     "5 mg，每晚一次，4至6周后可增至10 mg|5 mg at night, increased to 10 mg after 4-6 weeks",
     "恶心|nausea;腹泻|diarrhoea;多梦|vivid dreams;心动过缓|slow heart rate",
     "病态窦房结综合征慎用|caution in sick sinus syndrome;消化性溃疡慎用|caution with peptic ulcer"),
    ("sertraline", "舍曲林|sertraline", "选择性5-羟色胺再摄取抑制剂（SSRI）|a selective serotonin reuptake inhibitor (SSRI)",
     "抑郁症和多种焦虑障碍|depression and several anxiety disorders",
     "选择性抑制突触前膜对5-羟色胺的再摄取|selectively blocking serotonin reuptake at the synapse",
     "50 mg，每日一次，可逐渐增至每日200 mg|50 mg once daily, increased gradually up to 200 mg daily",
     "恶心|nausea;失眠|insomnia;性功能障碍|sexual dysfunction;起效通常需要2至4周|the effect usually takes 2-4 weeks",
     "与单胺氧化酶抑制剂合用|use with monoamine oxidase inhibitors;青少年用药需监测自杀观念|monitoring for suicidal thoughts in young people"),
    ("cetirizine", "西替利嗪|cetirizine", "第二代抗组胺药|a second-generation antihistamine",
     "过敏性鼻炎和荨麻疹|allergic rhinitis and urticaria",
     "选择性阻断外周H1受体|selectively blocking peripheral H1 receptors",
     "10 mg，每日一次|10 mg once daily",
     "轻度嗜睡|mild drowsiness;口干|dry mouth;头痛|headache",
     "严重肾功能不全需减量|dose reduction in severe kidney impairment"),
    ("mometasone_nasal", "糠酸莫米松鼻喷雾剂|mometasone nasal spray", "鼻用糖皮质激素|an intranasal corticosteroid",
     "过敏性鼻炎|allergic rhinitis",
     "在鼻黏膜局部发挥抗炎作用|reducing inflammation locally in the nasal lining",
     "每侧鼻孔2喷（每喷50 μg），每日一次|two sprays (50 micrograms each) into each nostril once daily",
     "鼻出血|nosebleeds;鼻干|nasal dryness;咽部刺激|throat irritation",
     "未经治疗的鼻部感染|untreated nasal infection"),
    ("hydrocortisone_cream", "氢化可的松乳膏|hydrocortisone cream", "弱效外用糖皮质激素|a mild topical corticosteroid",
     "湿疹等炎症性皮肤病|eczema and other inflammatory skin conditions",
     "在皮肤局部抑制炎症反应|suppressing inflammation locally in the skin",
     "1%乳膏薄涂于患处，每日1至2次|1% cream applied thinly once or twice daily",
     "长期使用可致皮肤变薄|skin thinning with prolonged use;局部刺激|local irritation",
     "未控制的皮肤细菌、真菌或病毒感染|untreated bacterial, fungal or viral skin infection"),
    ("tamsulosin", "坦索罗辛|tamsulosin", "α1受体阻滞剂|an alpha-1 blocker",
     "良性前列腺增生引起的排尿症状|urinary symptoms of benign prostatic hyperplasia",
     "松弛前列腺和膀胱颈平滑肌，改善排尿|relaxing smooth muscle in the prostate and bladder neck",
     "0.2至0.4 mg，每日一次，餐后服用|0.2-0.4 mg once daily after a meal",
     "体位性低血压|postural hypotension;头晕|dizziness;射精异常|ejaculation problems",
     "既往体位性低血压|previous postural hypotension;白内障手术前需告知医生|tell the surgeon before cataract surgery"),
    ("latanoprost", "拉坦前列素滴眼液|latanoprost eye drops", "前列腺素类似物|a prostaglandin analogue",
     "开角型青光眼和高眼压症|open-angle glaucoma and ocular hypertension",
     "增加葡萄膜巩膜途径的房水外流|increasing uveoscleral outflow of aqueous humour",
     "0.005%，每晚一次，每眼一滴|0.005%, one drop in the affected eye once each evening",
     "眼红|red eyes;虹膜颜色加深|darkening of the iris;睫毛变长|longer eyelashes",
     "对成分过敏|allergy to the ingredients"),
    ("timolol", "噻吗洛尔滴眼液|timolol eye drops", "β受体阻滞剂滴眼液|a beta-blocker eye drop",
     "开角型青光眼|open-angle glaucoma",
     "减少睫状体房水生成|reducing aqueous humour production by the ciliary body",
     "0.5%，每日两次，每眼一滴|0.5%, one drop twice daily",
     "眼部刺痛|stinging;心动过缓|slow heart rate;支气管痉挛|bronchospasm",
     "哮喘|asthma;严重慢阻肺|severe COPD;严重心动过缓|marked bradycardia"),
]

DRUGS = {}
for _k, _n, _c, _ind, _mech, _dose, _se, _ci in _DRUGS:
    DRUGS[_k] = {
        "key": _k, "name": P1(_n), "cls": P1(_c), "ind": P1(_ind), "mech": P1(_mech),
        "dose": P1(_dose), "se": P(_se), "ci": P(_ci),
    }

# ---------------------------------------------------------------------------
# Disease / condition table
# (name, body system, definition, who is affected, symptoms, causes/risk
#  factors, tests, non-drug / general treatment, drug keys, complications,
#  prevention)
# ---------------------------------------------------------------------------
SYS = {
    "cv": P1("心血管系统|cardiovascular system"),
    "endo": P1("内分泌与代谢系统|endocrine and metabolic system"),
    "resp": P1("呼吸系统|respiratory system"),
    "gi": P1("消化系统|digestive system"),
    "uro": P1("泌尿系统|urinary system"),
    "neuro": P1("神经系统|nervous system"),
    "msk": P1("肌肉骨骼系统|musculoskeletal system"),
    "blood": P1("血液系统|blood and haematological system"),
    "psych": P1("精神心理|mind (mental health)"),
    "skin": P1("皮肤|skin"),
    "eye": P1("眼部|eye"),
    "ent": P1("耳鼻咽喉|ear, nose and throat"),
}

_DISEASES = [
    ("高血压|hypertension", "cv",
     "以体循环动脉血压持续升高为主要特征的慢性疾病|a chronic condition in which the blood pressure in the arteries stays persistently raised",
     "中老年人、肥胖者和有家族史的人|middle-aged and older adults, people with obesity and those with a family history",
     "头痛|headache;头晕|dizziness;颈后部发紧|tightness at the back of the neck;多数患者无明显症状|no symptoms at all in most people",
     "高盐饮食|a high-salt diet;超重和肥胖|overweight and obesity;缺乏运动|physical inactivity;过量饮酒|heavy drinking;遗传因素|family history",
     "多次诊室血压测量|repeated clinic blood pressure readings;24小时动态血压监测|24-hour ambulatory blood pressure monitoring;血肌酐和尿常规|blood creatinine and urinalysis;心电图|an electrocardiogram (ECG)",
     "限盐，每日食盐少于5克|cutting salt to under 5 g a day;规律有氧运动|regular aerobic exercise;控制体重|weight control;戒烟限酒|stopping smoking and limiting alcohol",
     "amlodipine lisinopril losartan hctz",
     "脑卒中|stroke;冠心病|coronary heart disease;心力衰竭|heart failure;慢性肾脏病|chronic kidney disease",
     "少吃盐|eating less salt;保持健康体重|keeping a healthy weight;每周至少150分钟中等强度运动|at least 150 minutes of moderate exercise a week;定期测量血压|checking blood pressure regularly"),
    ("2型糖尿病|type 2 diabetes", "endo",
     "以胰岛素抵抗和胰岛素分泌相对不足导致慢性高血糖为特征的代谢性疾病|a metabolic disease in which insulin resistance and relative insulin deficiency cause chronic high blood glucose",
     "40岁以上成人、肥胖者和有糖尿病家族史的人|adults over 40, people with obesity and those with a family history of diabetes",
     "口渴多饮|thirst and drinking more;多尿|passing more urine;体重下降|weight loss;乏力|tiredness;视物模糊|blurred vision",
     "肥胖|obesity;缺乏运动|physical inactivity;家族史|family history;妊娠糖尿病史|a history of gestational diabetes",
     "空腹血糖|fasting plasma glucose;糖化血红蛋白（HbA1c）|glycated haemoglobin (HbA1c);口服葡萄糖耐量试验|an oral glucose tolerance test",
     "饮食控制|dietary management;规律运动|regular exercise;减重|weight loss;自我血糖监测|home glucose monitoring",
     "metformin empagliflozin insulin_glargine",
     "糖尿病视网膜病变|diabetic retinopathy;糖尿病肾病|diabetic kidney disease;周围神经病变|peripheral neuropathy;糖尿病足|diabetic foot ulcers;心血管疾病|cardiovascular disease",
     "保持健康体重|keeping a healthy weight;减少含糖饮料|cutting sugary drinks;增加全谷物和蔬菜|eating more whole grains and vegetables;高危人群定期筛查血糖|regular glucose screening for people at risk"),
    ("1型糖尿病|type 1 diabetes", "endo",
     "自身免疫破坏胰岛β细胞导致胰岛素绝对缺乏的疾病|a condition in which autoimmune destruction of pancreatic beta cells leads to absolute insulin deficiency",
     "儿童、青少年和年轻成人|children, teenagers and young adults",
     "多饮|excessive thirst;多尿|frequent urination;体重迅速下降|rapid weight loss;乏力|fatigue;恶心呕吐|nausea and vomiting",
     "自身免疫|autoimmunity;遗传易感性|genetic susceptibility;可能的病毒感染诱因|possible viral triggers",
     "血糖|blood glucose;糖化血红蛋白|HbA1c;C肽|C-peptide;胰岛自身抗体|islet autoantibodies;血酮|blood ketones",
     "终身胰岛素治疗|lifelong insulin therapy;碳水化合物计算|carbohydrate counting;血糖监测|glucose monitoring;低血糖的识别与处理|recognising and treating hypoglycaemia",
     "insulin_glargine",
     "糖尿病酮症酸中毒|diabetic ketoacidosis;低血糖|hypoglycaemia;视网膜病变|retinopathy;肾病|nephropathy",
     "目前无法预防发病|onset cannot currently be prevented;规律监测血糖|regular glucose monitoring;按时注射胰岛素|taking insulin on schedule;生病时加强监测|extra monitoring on sick days"),
    ("冠心病（稳定型心绞痛）|coronary heart disease (stable angina)", "cv",
     "冠状动脉粥样硬化导致心肌供血不足的疾病|a disease in which atherosclerosis narrows the coronary arteries and limits blood flow to the heart muscle",
     "中老年人，尤其是男性和有多种危险因素的人|middle-aged and older people, especially men and those with several risk factors",
     "活动后胸骨后压榨样疼痛|pressing chest pain on exertion;疼痛可放射至左肩或下颌|pain spreading to the left arm or jaw;休息后数分钟缓解|relief within minutes of rest;气短|breathlessness",
     "高血压|hypertension;血脂异常|abnormal blood lipids;吸烟|smoking;糖尿病|diabetes;年龄增长|older age",
     "心电图|an ECG;运动负荷试验|an exercise stress test;冠状动脉CT血管成像|CT coronary angiography;冠状动脉造影|invasive coronary angiography",
     "生活方式干预|lifestyle change;控制危险因素|risk-factor control;必要时行经皮冠状动脉介入治疗（PCI）或搭桥手术|PCI or bypass surgery when needed",
     "aspirin atorvastatin metoprolol nitroglycerin",
     "急性心肌梗死|acute myocardial infarction;心律失常|arrhythmia;心力衰竭|heart failure",
     "戒烟|stopping smoking;控制血压、血脂和血糖|controlling blood pressure, lipids and glucose;地中海式饮食|a Mediterranean-style diet;规律运动|regular exercise"),
    ("急性心肌梗死|acute myocardial infarction", "cv",
     "冠状动脉急性闭塞导致心肌缺血坏死的急症|an emergency in which sudden blockage of a coronary artery causes heart muscle to die",
     "有冠心病危险因素的中老年人|middle-aged and older people with coronary risk factors",
     "持续20分钟以上的剧烈胸痛|severe chest pain lasting more than 20 minutes;大汗|sweating;恶心|nausea;呼吸困难|shortness of breath;濒死感|a sense of impending doom",
     "冠状动脉粥样斑块破裂|rupture of a coronary plaque;吸烟|smoking;高血压|hypertension;糖尿病|diabetes",
     "12导联心电图|a 12-lead ECG;心肌肌钙蛋白|cardiac troponin;超声心动图|echocardiography;急诊冠状动脉造影|emergency coronary angiography",
     "立即拨打急救电话|calling emergency services immediately;尽早再灌注治疗（急诊PCI或溶栓）|early reperfusion with primary PCI or thrombolysis;心脏康复|cardiac rehabilitation",
     "aspirin clopidogrel atorvastatin metoprolol",
     "心源性休克|cardiogenic shock;恶性心律失常|dangerous arrhythmias;心力衰竭|heart failure;心脏破裂|cardiac rupture",
     "控制冠心病危险因素|controlling coronary risk factors;戒烟|stopping smoking;坚持二级预防用药|taking secondary prevention medicines;了解胸痛时应及时呼救|knowing to call for help early with chest pain"),
    ("心力衰竭|heart failure", "cv",
     "心脏泵血或充盈功能受损，无法满足机体需要的临床综合征|a clinical syndrome in which the heart cannot pump or fill well enough to meet the body's needs",
     "老年人以及有冠心病、高血压或心肌病的人|older people and those with coronary disease, hypertension or cardiomyopathy",
     "活动后气短|breathlessness on exertion;夜间阵发性呼吸困难|waking breathless at night;下肢水肿|ankle swelling;乏力|fatigue;体重短期内增加|rapid weight gain",
     "冠心病|coronary heart disease;长期高血压|long-standing hypertension;心脏瓣膜病|valve disease;心肌病|cardiomyopathy",
     "B型利钠肽（BNP或NT-proBNP）|BNP or NT-proBNP;超声心动图|echocardiography;胸部X线|a chest X-ray;心电图|an ECG",
     "限盐|salt restriction;每日称体重|daily weighing;适度活动|appropriate activity;治疗基础病因|treating the underlying cause",
     "furosemide lisinopril metoprolol empagliflozin",
     "急性肺水肿|acute pulmonary oedema;心律失常|arrhythmias;肾功能恶化|worsening kidney function",
     "控制血压|controlling blood pressure;预防冠心病|preventing coronary disease;避免过量饮酒|avoiding heavy drinking;按时服药|taking medicines regularly"),
    ("心房颤动|atrial fibrillation", "cv",
     "心房失去有序收缩、心律绝对不规则的常见心律失常|a common arrhythmia in which the atria lose organised contraction and the heartbeat becomes irregularly irregular",
     "老年人以及高血压、心脏病患者|older adults and people with hypertension or heart disease",
     "心悸|palpitations;心跳不规则|an irregular pulse;气短|breathlessness;乏力|tiredness;部分患者无症状|no symptoms in some people",
     "年龄增长|older age;高血压|hypertension;心脏瓣膜病|valve disease;甲状腺功能亢进|an overactive thyroid;饮酒|alcohol",
     "心电图|an ECG;24小时动态心电图|24-hour Holter monitoring;超声心动图|echocardiography;甲状腺功能|thyroid function tests",
     "控制心率|rate control;必要时复律|rhythm control when appropriate;根据CHA2DS2-VASc评分决定抗凝|anticoagulation guided by the CHA2DS2-VASc score",
     "rivaroxaban warfarin metoprolol",
     "缺血性脑卒中|ischaemic stroke;心力衰竭|heart failure;血栓栓塞|thromboembolism",
     "控制血压|controlling blood pressure;限酒|limiting alcohol;治疗睡眠呼吸暂停|treating sleep apnoea;定期自测脉搏|checking the pulse regularly"),
    ("缺血性脑卒中|ischaemic stroke", "neuro",
     "脑血管阻塞导致局部脑组织缺血坏死的急性疾病|an acute illness in which a blocked brain artery causes part of the brain to die",
     "老年人以及高血压、房颤、糖尿病患者|older people and those with hypertension, atrial fibrillation or diabetes",
     "突发一侧肢体无力或麻木|sudden weakness or numbness on one side;口角歪斜|a drooping face;言语不清|slurred speech;视物模糊|loss of vision;眩晕|vertigo",
     "高血压|hypertension;心房颤动|atrial fibrillation;吸烟|smoking;糖尿病|diabetes;血脂异常|high cholesterol",
     "头颅CT|a head CT scan;头颅磁共振|brain MRI;颈动脉超声|carotid ultrasound;心电图|an ECG",
     "发病4.5小时内评估静脉溶栓|assessment for thrombolysis within 4.5 hours;大血管闭塞时取栓|thrombectomy for large-vessel occlusion;早期康复训练|early rehabilitation",
     "aspirin clopidogrel atorvastatin",
     "偏瘫|paralysis on one side;吞咽困难|difficulty swallowing;吸入性肺炎|aspiration pneumonia;卒中后抑郁|post-stroke depression",
     "控制血压|controlling blood pressure;房颤患者规范抗凝|anticoagulation in atrial fibrillation;戒烟|stopping smoking;记住“BE FAST”识别卒中|learning the BE FAST stroke signs"),
    ("高脂血症|hyperlipidaemia", "endo",
     "血液中胆固醇或甘油三酯水平异常升高的代谢紊乱|a metabolic disorder with abnormally high levels of cholesterol or triglycerides in the blood",
     "中老年人、肥胖者和有家族性高胆固醇血症的人|middle-aged and older adults, people with obesity and those with familial hypercholesterolaemia",
     "通常没有症状|usually no symptoms;少数出现黄色瘤|xanthomas in a few;角膜环|a corneal arcus",
     "高饱和脂肪饮食|a diet high in saturated fat;肥胖|obesity;缺乏运动|inactivity;遗传因素|genetic factors;甲状腺功能减退|hypothyroidism",
     "空腹血脂四项|a fasting lipid profile;低密度脂蛋白胆固醇（LDL-C）|LDL cholesterol;肝功能|liver function tests",
     "饮食调整|dietary change;增加运动|more exercise;减重|weight loss;根据心血管风险决定是否用药|drug treatment based on cardiovascular risk",
     "atorvastatin",
     "动脉粥样硬化|atherosclerosis;冠心病|coronary heart disease;脑卒中|stroke;严重高甘油三酯时急性胰腺炎|acute pancreatitis with very high triglycerides",
     "减少饱和脂肪和反式脂肪|cutting saturated and trans fats;多吃蔬菜、豆类和全谷物|eating more vegetables, pulses and whole grains;定期检查血脂|regular lipid checks"),
    ("支气管哮喘|asthma", "resp",
     "以慢性气道炎症和可逆性气流受限为特征的疾病|a disease marked by chronic airway inflammation and reversible airflow limitation",
     "儿童和青年多见，也可在成年后发病|children and young adults most often, though adults can develop it too",
     "反复喘息|recurrent wheeze;气急|shortness of breath;胸闷|chest tightness;夜间或清晨咳嗽|cough at night or early morning",
     "过敏体质|atopy;尘螨和花粉|house dust mites and pollen;呼吸道感染|respiratory infections;冷空气和运动|cold air and exercise;吸烟或二手烟|smoking or second-hand smoke",
     "肺功能检查|spirometry;支气管舒张试验|a bronchodilator reversibility test;呼气峰流速监测|peak flow monitoring;呼出气一氧化氮|exhaled nitric oxide",
     "避免诱因|avoiding triggers;正确使用吸入装置|correct inhaler technique;制定书面哮喘行动计划|a written asthma action plan",
     "budesonide_formoterol salbutamol montelukast prednisone",
     "哮喘急性重度发作|severe asthma attacks;呼吸衰竭|respiratory failure;睡眠和活动受限|disturbed sleep and limited activity",
     "避免过敏原|avoiding allergens;不吸烟|not smoking;接种流感疫苗|flu vaccination;坚持使用控制药物|using preventer inhalers regularly"),
    ("慢性阻塞性肺疾病|chronic obstructive pulmonary disease (COPD)", "resp",
     "以持续气流受限为特征、通常呈进行性发展的慢性肺部疾病|a chronic lung disease with persistent, usually progressive airflow limitation",
     "40岁以上长期吸烟者|smokers over the age of 40",
     "慢性咳嗽|chronic cough;咳痰|sputum production;活动后气短|breathlessness on exertion;喘息|wheeze",
     "吸烟|smoking;生物燃料烟雾|smoke from biomass fuels;职业粉尘|occupational dust;反复呼吸道感染|repeated chest infections",
     "肺功能检查（吸入支气管舒张剂后FEV1/FVC<0.70）|spirometry (post-bronchodilator FEV1/FVC below 0.70);胸部X线或CT|a chest X-ray or CT;血氧饱和度|oxygen saturation",
     "戒烟|stopping smoking;肺康复训练|pulmonary rehabilitation;长期家庭氧疗（严重低氧时）|long-term oxygen for severe hypoxaemia",
     "tiotropium budesonide_formoterol salbutamol prednisone",
     "急性加重|acute exacerbations;慢性呼吸衰竭|chronic respiratory failure;肺源性心脏病|cor pulmonale;肺部感染|chest infections",
     "不吸烟并远离二手烟|not smoking and avoiding second-hand smoke;接种流感和肺炎球菌疫苗|flu and pneumococcal vaccination;改善厨房通风|better kitchen ventilation"),
    ("社区获得性肺炎|community-acquired pneumonia", "resp",
     "在医院外获得的肺实质感染|an infection of the lung tissue acquired outside hospital",
     "各年龄段均可发生，老年人和慢性病患者病情较重|people of any age, though older adults and those with chronic illness are more severely affected",
     "发热|fever;咳嗽|cough;咳脓痰|coughing up purulent sputum;胸痛|chest pain;呼吸急促|rapid breathing",
     "肺炎链球菌|Streptococcus pneumoniae;流感病毒|influenza virus;支原体|Mycoplasma;吸烟|smoking;高龄|older age",
     "胸部X线|a chest X-ray;血常规|a full blood count;C反应蛋白|C-reactive protein;痰培养|sputum culture;CURB-65评分|the CURB-65 score",
     "根据严重程度决定门诊或住院治疗|outpatient or hospital care depending on severity;休息和补液|rest and fluids;必要时吸氧|oxygen when needed",
     "amoxicillin azithromycin paracetamol",
     "脓毒症|sepsis;胸腔积液|pleural effusion;呼吸衰竭|respiratory failure;肺脓肿|lung abscess",
     "接种肺炎球菌疫苗|pneumococcal vaccination;接种流感疫苗|flu vaccination;戒烟|stopping smoking;勤洗手|hand washing"),
    ("流行性感冒|influenza", "resp",
     "由流感病毒引起的急性呼吸道传染病|an acute respiratory infection caused by influenza viruses",
     "各年龄段人群，其中老年人、孕妇、婴幼儿和慢性病患者属于高危人群|people of all ages, with older people, pregnant women, young children and those with chronic disease at high risk",
     "突起高热|sudden high fever;全身肌肉酸痛|aching muscles;头痛|headache;乏力|exhaustion;干咳|dry cough;咽痛|sore throat",
     "流感病毒感染|infection with influenza virus;飞沫传播|droplet spread;密切接触|close contact",
     "流感病毒抗原检测|a rapid influenza antigen test;核酸检测（PCR）|a PCR test;重症时胸部影像|chest imaging in severe cases",
     "休息|rest;多饮水|plenty of fluids;对症退热|fever control;高危人群尽早抗病毒|early antivirals for people at high risk",
     "oseltamivir paracetamol",
     "病毒性或继发细菌性肺炎|viral or secondary bacterial pneumonia;心肌炎|myocarditis;慢性病加重|worsening of chronic conditions",
     "每年接种流感疫苗|yearly flu vaccination;勤洗手|hand washing;咳嗽时遮掩口鼻|covering coughs;生病时居家休息|staying home when ill"),
    ("普通感冒|common cold", "ent",
     "由鼻病毒等多种病毒引起的上呼吸道轻度感染|a mild upper respiratory infection caused by rhinoviruses and other viruses",
     "所有年龄段，儿童每年可患多次|people of all ages, and children may catch several a year",
     "鼻塞|blocked nose;流涕|runny nose;打喷嚏|sneezing;咽痛|sore throat;轻度咳嗽|mild cough",
     "鼻病毒|rhinovirus;冠状病毒等其他病毒|other viruses such as seasonal coronaviruses;手接触传播|hand-to-face spread",
     "体格检查|a physical examination;咽部检查|a throat examination;必要时流感快速抗原检测|a rapid flu test when needed",
     "休息|rest;多饮水|drinking fluids;生理盐水洗鼻|saline nasal rinses;对症治疗|symptom relief",
     "paracetamol ibuprofen",
     "急性鼻窦炎|acute sinusitis;中耳炎|otitis media;哮喘加重|asthma flare-ups",
     "勤洗手|washing hands;避免用手揉眼和鼻|not touching the eyes and nose;保证睡眠|getting enough sleep"),
    ("肺结核|pulmonary tuberculosis", "resp",
     "由结核分枝杆菌引起的慢性肺部传染病|a chronic infectious lung disease caused by Mycobacterium tuberculosis",
     "与结核病患者密切接触者、免疫力低下者和糖尿病患者|close contacts of TB patients, people with weakened immunity and people with diabetes",
     "咳嗽咳痰超过2周|cough with sputum for more than two weeks;咯血|coughing up blood;午后低热|low-grade afternoon fever;盗汗|night sweats;体重减轻|weight loss",
     "结核分枝杆菌经飞沫传播|airborne spread of Mycobacterium tuberculosis;HIV感染|HIV infection;糖尿病|diabetes;营养不良|malnutrition",
     "痰涂片抗酸染色|sputum smear for acid-fast bacilli;结核分枝杆菌核酸检测（如Xpert）|molecular testing such as Xpert;痰培养|sputum culture;胸部X线或CT|a chest X-ray or CT",
     "规范全程治疗，标准方案为2个月四联（异烟肼、利福平、吡嗪酰胺、乙胺丁醇）加4个月二联|a full standard course of two months of four drugs (isoniazid, rifampicin, pyrazinamide, ethambutol) then four months of two;督导服药|directly observed therapy;定期复查肝功能|regular liver function checks",
     "isoniazid rifampicin",
     "耐药结核|drug-resistant TB;咯血|haemoptysis;肺纤维化|lung scarring;结核性胸膜炎|tuberculous pleurisy",
     "早发现早治疗传染源|finding and treating cases early;新生儿接种卡介苗|BCG vaccination for newborns;室内通风|good ventilation;咳嗽时戴口罩|wearing a mask when coughing"),
    ("胃食管反流病|gastro-oesophageal reflux disease (GERD)", "gi",
     "胃内容物反流入食管引起不适症状或黏膜损伤的疾病|a condition in which stomach contents flow back into the oesophagus and cause symptoms or damage",
     "成年人较常见，肥胖者和孕妇更易发生|common in adults, especially people with obesity and pregnant women",
     "烧心|heartburn;反酸|acid regurgitation;胸骨后灼痛|burning behind the breastbone;慢性咳嗽|chronic cough;声音嘶哑|hoarseness",
     "肥胖|obesity;饱餐后平卧|lying down after large meals;吸烟|smoking;饮酒|alcohol;食管裂孔疝|hiatus hernia",
     "质子泵抑制剂试验性治疗|a trial of a PPI;胃镜检查|upper endoscopy;24小时食管pH监测|24-hour oesophageal pH monitoring",
     "减重|weight loss;抬高床头|raising the head of the bed;睡前3小时不进食|no food for three hours before bed;减少咖啡、酒精和高脂食物|less coffee, alcohol and fatty food",
     "omeprazole",
     "反流性食管炎|reflux oesophagitis;食管狭窄|oesophageal stricture;巴雷特食管|Barrett's oesophagus",
     "控制体重|weight control;少食多餐|smaller meals;餐后不立即躺下|not lying down straight after eating;戒烟|stopping smoking"),
    ("消化性溃疡|peptic ulcer disease", "gi",
     "胃或十二指肠黏膜被胃酸和胃蛋白酶侵蚀形成溃疡的疾病|a disease in which acid and pepsin erode the lining of the stomach or duodenum to form an ulcer",
     "青壮年和中老年均可发生，幽门螺杆菌感染者和长期服用非甾体抗炎药者风险高|adults of all ages, particularly people with H. pylori or those who take NSAIDs long term",
     "上腹部烧灼痛|burning upper abdominal pain;餐后或空腹时疼痛|pain after meals or on an empty stomach;腹胀|bloating;恶心|nausea;黑便提示出血|black stools if bleeding",
     "幽门螺杆菌感染|Helicobacter pylori infection;长期服用非甾体抗炎药|long-term NSAID use;吸烟|smoking;精神压力|stress",
     "胃镜检查|upper endoscopy;碳13或碳14尿素呼气试验|a urea breath test;粪便幽门螺杆菌抗原|a stool H. pylori antigen test;血常规|a full blood count",
     "根除幽门螺杆菌（含铋剂四联疗法14天）|H. pylori eradication (14 days of bismuth quadruple therapy);停用或减少非甾体抗炎药|stopping or reducing NSAIDs;抑酸治疗|acid suppression",
     "omeprazole amoxicillin metronidazole",
     "消化道出血|gastrointestinal bleeding;穿孔|perforation;幽门梗阻|gastric outlet obstruction",
     "分餐和使用公筷减少幽门螺杆菌传播|using serving chopsticks to limit H. pylori spread;避免滥用止痛药|avoiding unnecessary painkillers;戒烟|stopping smoking;根除治疗后复查|confirming eradication after treatment"),
    ("急性胃肠炎|acute gastroenteritis", "gi",
     "由病毒、细菌或毒素引起的胃肠道急性炎症|an acute inflammation of the stomach and intestines caused by viruses, bacteria or toxins",
     "所有年龄段，婴幼儿和老人易发生脱水|all ages, with infants and older people most prone to dehydration",
     "腹泻|diarrhoea;呕吐|vomiting;腹痛|abdominal cramps;低热|mild fever;口干|dry mouth",
     "诺如病毒|norovirus;轮状病毒|rotavirus;沙门菌等细菌|bacteria such as Salmonella;不洁饮食|contaminated food or water",
     "一般根据病史诊断|usually diagnosed from the history;严重或持续时做粪便常规和培养|stool tests if severe or prolonged;电解质|electrolytes",
     "口服补液|oral rehydration;清淡饮食|a light diet;注意脱水征象|watching for signs of dehydration;多数无需抗生素|antibiotics are usually not needed",
     "ors",
     "脱水|dehydration;电解质紊乱|electrolyte disturbance;急性肾损伤|acute kidney injury",
     "饭前便后洗手|washing hands before meals and after the toilet;生熟分开|keeping raw and cooked food apart;饮用安全的水|drinking safe water;婴儿接种轮状病毒疫苗|rotavirus vaccination for infants"),
    ("慢性乙型肝炎|chronic hepatitis B", "gi",
     "乙型肝炎病毒持续感染超过6个月引起的慢性肝脏炎症|long-term liver inflammation caused by hepatitis B virus infection lasting over six months",
     "母婴传播感染者、未接种疫苗者及有高危暴露的人|people infected at birth, the unvaccinated and those with high-risk exposures",
     "乏力|tiredness;食欲减退|poor appetite;右上腹不适|discomfort in the upper right abdomen;黄疸|jaundice;许多人长期无症状|no symptoms for many years",
     "母婴传播|mother-to-child transmission;血液传播|blood-borne spread;性接触传播|sexual transmission",
     "乙肝两对半（HBsAg等）|hepatitis B serology (HBsAg and others);HBV DNA定量|HBV DNA viral load;肝功能|liver function tests;肝脏弹性检测|liver stiffness measurement;腹部超声|abdominal ultrasound",
     "符合指征时长期抗病毒治疗|long-term antiviral treatment when indicated;戒酒|avoiding alcohol;每6个月监测肝癌|liver cancer surveillance every six months",
     "entecavir tenofovir",
     "肝硬化|cirrhosis;肝细胞癌|hepatocellular carcinoma;肝衰竭|liver failure",
     "新生儿出生24小时内接种乙肝疫苗|hepatitis B vaccine within 24 hours of birth;HBsAg阳性母亲的新生儿加用乙肝免疫球蛋白|hepatitis B immunoglobulin for babies of infected mothers;不共用剃须刀和牙刷|not sharing razors or toothbrushes"),
    ("急性阑尾炎|acute appendicitis", "gi",
     "阑尾腔梗阻继发感染引起的急性炎症|an acute inflammation of the appendix, usually after its opening becomes blocked",
     "青少年和青年人最常见|teenagers and young adults most often",
     "转移性右下腹痛|pain that starts around the navel and moves to the lower right abdomen;恶心呕吐|nausea and vomiting;发热|fever;食欲下降|loss of appetite",
     "阑尾腔粪石梗阻|a faecolith blocking the appendix;淋巴组织增生|lymphoid swelling;细菌感染|bacterial infection",
     "体格检查（麦氏点压痛）|examination for tenderness at McBurney's point;血常规|a full blood count;腹部超声|abdominal ultrasound;腹部CT|an abdominal CT scan",
     "阑尾切除术（多为腹腔镜）|appendicectomy, usually laparoscopic;围手术期抗生素|antibiotics around surgery;禁食补液|nil by mouth and IV fluids",
     "metronidazole",
     "阑尾穿孔|perforation;腹膜炎|peritonitis;阑尾周围脓肿|an appendix abscess",
     "无确切预防方法|there is no proven way to prevent it;腹痛持续加重时及早就医|seeing a doctor early if abdominal pain keeps worsening"),
    ("胆囊结石|gallstones", "gi",
     "胆囊内形成结石的常见疾病|a common condition in which stones form inside the gallbladder",
     "中年女性、肥胖者和快速减重者|middle-aged women, people with obesity and those who lose weight quickly",
     "进食油腻食物后右上腹痛|upper right abdominal pain after fatty meals;疼痛可放射至右肩背|pain spreading to the right shoulder;恶心|nausea;多数人无症状|no symptoms in many people",
     "肥胖|obesity;高脂饮食|a high-fat diet;妊娠|pregnancy;快速减重|rapid weight loss;年龄增长|older age",
     "腹部超声|abdominal ultrasound;肝功能|liver function tests;血淀粉酶|serum amylase;磁共振胰胆管成像|MRCP",
     "无症状者观察|watchful waiting if there are no symptoms;有症状者行腹腔镜胆囊切除术|laparoscopic cholecystectomy for symptomatic stones;低脂饮食|a low-fat diet",
     "ibuprofen",
     "急性胆囊炎|acute cholecystitis;胆总管结石|stones in the common bile duct;急性胰腺炎|acute pancreatitis;胆管炎|cholangitis",
     "保持健康体重|keeping a healthy weight;避免过快减重|avoiding crash diets;规律进餐|eating regular meals"),
    ("肠易激综合征|irritable bowel syndrome (IBS)", "gi",
     "以腹痛伴排便习惯改变为特征的功能性肠病|a functional bowel disorder with abdominal pain and a change in bowel habit",
     "青中年，女性更常见|young and middle-aged adults, more often women",
     "反复腹痛|recurrent abdominal pain;腹胀|bloating;腹泻或便秘交替|diarrhoea, constipation or both;排便后腹痛缓解|pain relieved by opening the bowels",
     "肠-脑互动异常|altered gut-brain interaction;内脏高敏感|visceral hypersensitivity;肠道感染后|a previous gut infection;精神压力|stress",
     "依据罗马IV标准临床诊断|clinical diagnosis using the Rome IV criteria;血常规和C反应蛋白排除其他疾病|a blood count and CRP to exclude other disease;有报警症状时行结肠镜|colonoscopy if there are alarm features",
     "饮食调整（如低FODMAP饮食）|dietary change such as a low-FODMAP diet;规律作息|regular routines;心理治疗|psychological therapy;对症用药|symptom-directed medicines",
     "",
     "生活质量下降|reduced quality of life;焦虑抑郁|anxiety and low mood",
     "规律饮食|regular meals;减少产气食物|fewer gas-producing foods;适当运动|regular exercise;管理压力|managing stress"),
    ("尿路感染（膀胱炎）|urinary tract infection (cystitis)", "uro",
     "细菌侵入膀胱引起的下尿路感染|an infection of the bladder and lower urinary tract by bacteria",
     "性生活活跃的女性、孕妇和老年人|sexually active women, pregnant women and older people",
     "尿频|frequent urination;尿急|urgency;尿痛|burning when passing urine;下腹不适|lower abdominal discomfort;尿液浑浊|cloudy urine",
     "大肠埃希菌|Escherichia coli;女性尿道短|the shorter female urethra;饮水少|low fluid intake;导尿管|urinary catheters",
     "尿常规|urinalysis;尿液试纸检测亚硝酸盐和白细胞|dipstick testing for nitrites and leucocytes;尿培养|urine culture",
     "多饮水|drinking more water;短程抗菌治疗|a short course of antibiotics;复发者查找诱因|looking for causes in recurrent cases",
     "nitrofurantoin",
     "急性肾盂肾炎|acute pyelonephritis;脓毒症|sepsis;反复感染|recurrent infection",
     "多喝水|drinking enough water;不憋尿|not holding urine;性生活后排尿|urinating after sex;便后由前向后擦拭|wiping front to back"),
    ("泌尿系结石|kidney stones", "uro",
     "尿液中晶体在肾脏或输尿管内聚集成石的疾病|a condition in which crystals in urine clump into stones in the kidney or ureter",
     "30至50岁成人，男性较多|adults aged 30-50, more often men",
     "突发腰部或侧腹部绞痛|sudden severe colicky pain in the loin or side;疼痛向下腹或会阴放射|pain spreading to the groin;血尿|blood in the urine;恶心呕吐|nausea and vomiting",
     "饮水不足|not drinking enough;高盐高蛋白饮食|a diet high in salt and animal protein;家族史|family history;肥胖|obesity",
     "尿常规|urinalysis;泌尿系超声|urinary tract ultrasound;非增强CT|a non-contrast CT scan;结石成分分析|stone analysis",
     "止痛|pain relief;多饮水促进排石|plenty of fluids to help the stone pass;较大结石行体外冲击波碎石或输尿管镜|shock-wave lithotripsy or ureteroscopy for larger stones",
     "ibuprofen tamsulosin",
     "尿路梗阻|urinary obstruction;肾积水|hydronephrosis;合并感染|infection;反复发作|recurrence",
     "每日饮水使尿量达到2至2.5升|drinking enough to pass 2-2.5 litres of urine a day;限盐|less salt;适量摄入钙|normal dietary calcium"),
    ("慢性肾脏病|chronic kidney disease", "uro",
     "肾脏结构或功能异常持续超过3个月的疾病|a condition in which kidney structure or function is abnormal for more than three months",
     "糖尿病和高血压患者以及老年人|people with diabetes or hypertension and older adults",
     "早期多无症状|usually no symptoms early on;夜尿增多|passing urine at night;水肿|swelling;乏力|tiredness;食欲减退|poor appetite",
     "糖尿病|diabetes;高血压|hypertension;慢性肾小球肾炎|chronic glomerulonephritis;多囊肾|polycystic kidney disease",
     "估算肾小球滤过率（eGFR）|estimated glomerular filtration rate (eGFR);尿白蛋白/肌酐比值|urine albumin-to-creatinine ratio;肾脏超声|kidney ultrasound;电解质|electrolytes",
     "控制血压和血糖|controlling blood pressure and glucose;低盐适量蛋白饮食|a low-salt diet with moderate protein;避免肾毒性药物|avoiding drugs that harm the kidneys;终末期时透析或肾移植|dialysis or transplant at end stage",
     "losartan lisinopril empagliflozin",
     "肾性贫血|anaemia;高钾血症|high potassium;矿物质和骨代谢异常|bone and mineral disorders;心血管疾病|cardiovascular disease",
     "控制糖尿病和高血压|controlling diabetes and blood pressure;慎用止痛药|care with painkillers;定期检查尿蛋白和肾功能|regular checks of urine protein and kidney function"),
    ("甲状腺功能减退症|hypothyroidism", "endo",
     "甲状腺激素合成或分泌不足引起的全身代谢减低综合征|a syndrome of slowed metabolism caused by too little thyroid hormone",
     "中老年女性较多见|more common in middle-aged and older women",
     "怕冷|feeling cold;乏力|fatigue;体重增加|weight gain;便秘|constipation;皮肤干燥|dry skin;记忆力减退|poor memory",
     "桥本甲状腺炎|Hashimoto's thyroiditis;甲状腺手术或放射碘治疗后|previous thyroid surgery or radioiodine;碘缺乏|iodine deficiency",
     "促甲状腺激素（TSH）|thyroid-stimulating hormone (TSH);游离T4|free T4;甲状腺过氧化物酶抗体|thyroid peroxidase antibodies",
     "甲状腺激素替代治疗|thyroid hormone replacement;6至8周后复查TSH调整剂量|rechecking TSH after 6-8 weeks to adjust the dose",
     "levothyroxine",
     "血脂升高|raised cholesterol;心包积液|pericardial effusion;黏液性水肿昏迷（罕见）|myxoedema coma (rare);妊娠不良结局|pregnancy complications",
     "保证适量碘摄入|adequate iodine intake;有症状或高危时检查甲状腺功能|checking thyroid function when symptoms or risks are present;按时服药|taking medicine regularly"),
    ("甲状腺功能亢进症（Graves病）|hyperthyroidism (Graves' disease)", "endo",
     "甲状腺激素分泌过多导致高代谢状态的疾病|a condition in which excess thyroid hormone causes a hypermetabolic state",
     "20至40岁女性最常见|most often women aged 20-40",
     "心悸|palpitations;怕热多汗|heat intolerance and sweating;体重下降|weight loss;手抖|tremor;易激动|irritability;突眼|bulging eyes",
     "Graves病（自身免疫）|Graves' disease (autoimmune);毒性结节性甲状腺肿|toxic nodular goitre;甲状腺炎|thyroiditis",
     "TSH降低伴游离T4和T3升高|low TSH with raised free T4 and T3;促甲状腺激素受体抗体（TRAb）|TSH receptor antibodies (TRAb);甲状腺超声|thyroid ultrasound",
     "抗甲状腺药物|antithyroid drugs;放射性碘治疗|radioactive iodine;甲状腺手术|thyroid surgery;β受体阻滞剂控制心悸|beta-blockers for palpitations",
     "methimazole metoprolol",
     "心房颤动|atrial fibrillation;骨质疏松|osteoporosis;甲状腺危象|thyroid storm;Graves眼病|thyroid eye disease",
     "戒烟（可降低眼病风险）|stopping smoking, which lowers eye-disease risk;定期复查甲状腺功能|regular thyroid function tests"),
    ("骨质疏松症|osteoporosis", "msk",
     "骨量减少、骨微结构破坏导致骨脆性增加的全身性骨病|a skeletal disease of low bone mass and damaged bone structure that makes bones fragile",
     "绝经后女性和老年人|postmenopausal women and older adults",
     "早期多无症状|no symptoms early on;腰背痛|back pain;身高变矮|loss of height;驼背|a stooped posture;轻微外伤即骨折|fractures after minor falls",
     "绝经后雌激素下降|falling oestrogen after menopause;年龄增长|older age;长期使用糖皮质激素|long-term corticosteroids;吸烟饮酒|smoking and drinking;钙和维生素D不足|low calcium and vitamin D",
     "双能X线骨密度检测（T值≤-2.5）|a DXA bone density scan (T-score of -2.5 or lower);FRAX骨折风险评估|FRAX fracture-risk assessment;血钙和维生素D|blood calcium and vitamin D",
     "补充钙和维生素D|calcium and vitamin D;负重运动|weight-bearing exercise;防跌倒|fall prevention;抗骨质疏松药物|bone-protecting medicines",
     "alendronate",
     "髋部骨折|hip fracture;椎体压缩性骨折|vertebral compression fractures;慢性疼痛|chronic pain",
     "年轻时积累骨量|building bone mass when young;充足的钙和维生素D|enough calcium and vitamin D;规律负重运动|regular weight-bearing exercise;戒烟限酒|stopping smoking and limiting alcohol"),
    ("骨关节炎|osteoarthritis", "msk",
     "关节软骨退变和骨质增生引起的慢性关节病|a chronic joint disease caused by wear of cartilage and bony overgrowth",
     "50岁以上人群，膝关节和髋关节最常受累|people over 50, most often in the knees and hips",
     "关节疼痛，活动后加重|joint pain that worsens with use;晨僵少于30分钟|morning stiffness under 30 minutes;关节肿大|joint swelling;活动时有摩擦感|a grating feeling on movement",
     "年龄增长|older age;肥胖|obesity;关节损伤史|previous joint injury;长期过度使用关节|repetitive joint overuse",
     "关节X线|joint X-rays;体格检查|clinical examination;必要时磁共振|MRI when needed",
     "减重|weight loss;肌力训练|muscle-strengthening exercise;物理治疗|physiotherapy;严重者关节置换|joint replacement in severe cases",
     "paracetamol ibuprofen",
     "关节畸形|joint deformity;活动受限|reduced mobility;慢性疼痛|chronic pain",
     "控制体重|keeping weight down;加强股四头肌锻炼|strengthening the thigh muscles;避免长时间爬楼和深蹲|avoiding repeated stair climbing and deep squats"),
    ("类风湿关节炎|rheumatoid arthritis", "msk",
     "以对称性多关节滑膜炎为主要表现的慢性自身免疫病|a chronic autoimmune disease with symmetrical inflammation of many joints",
     "30至60岁女性较多|more often women aged 30-60",
     "对称性小关节肿痛|painful swollen small joints on both sides;晨僵超过1小时|morning stiffness lasting over an hour;乏力|fatigue;低热|low-grade fever",
     "遗传因素|genetic factors;吸烟|smoking;女性|female sex;自身免疫异常|immune dysregulation",
     "类风湿因子|rheumatoid factor;抗环瓜氨酸肽抗体（抗CCP）|anti-CCP antibodies;血沉和C反应蛋白|ESR and CRP;手部X线或超声|hand X-rays or ultrasound",
     "早期使用改善病情药物|early disease-modifying treatment;达标治疗|treat-to-target;物理治疗|physiotherapy",
     "methotrexate prednisone ibuprofen",
     "关节畸形|joint deformity;间质性肺病|interstitial lung disease;心血管疾病风险增加|higher cardiovascular risk;骨质疏松|osteoporosis",
     "戒烟|stopping smoking;早期症状及时就诊|seeing a doctor early;保持口腔健康|good oral health"),
    ("痛风|gout", "msk",
     "尿酸盐结晶沉积于关节引起的炎症性关节炎|an inflammatory arthritis caused by urate crystals depositing in joints",
     "中年男性和绝经后女性|middle-aged men and postmenopausal women",
     "夜间突发关节剧痛|sudden severe joint pain, often at night;第一跖趾关节红肿热痛|a red, hot, swollen big-toe joint;痛风石|tophi;反复发作|recurrent attacks",
     "高尿酸血症|high uric acid;大量饮酒尤其啤酒|heavy drinking, especially beer;高嘌呤饮食|a purine-rich diet;含糖饮料|sugary drinks;利尿剂|diuretics",
     "血尿酸|serum uric acid;关节液偏振光显微镜查见尿酸盐结晶|joint fluid microscopy showing urate crystals;双能CT|dual-energy CT;肾功能|kidney function",
     "急性期休息和冰敷|rest and ice during a flare;长期降尿酸使血尿酸低于360 μmol/L|long-term urate lowering to below 360 micromol/L;限酒|less alcohol",
     "colchicine allopurinol ibuprofen",
     "痛风石|tophi;关节破坏|joint damage;尿酸性肾结石|uric acid kidney stones;慢性肾病|chronic kidney disease",
     "少喝酒尤其啤酒|drinking less, especially beer;少吃动物内脏和浓肉汤|fewer organ meats and rich meat broths;多饮水|drinking plenty of water;控制体重|weight control"),
    ("缺铁性贫血|iron deficiency anaemia", "blood",
     "体内铁缺乏导致血红蛋白合成减少的小细胞低色素性贫血|a microcytic, hypochromic anaemia caused by too little iron to make haemoglobin",
     "育龄女性、孕妇、婴幼儿和慢性失血者|women of childbearing age, pregnant women, young children and people with chronic blood loss",
     "乏力|fatigue;面色苍白|pale skin;头晕|dizziness;活动后心悸气短|palpitations and breathlessness on exertion;指甲变脆|brittle nails",
     "月经过多|heavy periods;消化道慢性失血|slow bleeding from the gut;铁摄入不足|low dietary iron;妊娠需求增加|increased needs in pregnancy",
     "血常规（血红蛋白降低、MCV减小）|a full blood count (low haemoglobin and MCV);血清铁蛋白|serum ferritin;转铁蛋白饱和度|transferrin saturation;必要时胃肠镜查找出血|endoscopy to look for bleeding when needed",
     "查找并处理病因|finding and treating the cause;口服铁剂|oral iron;不能耐受或吸收差时静脉补铁|intravenous iron if tablets fail",
     "ferrous_sulfate",
     "心功能受损|strain on the heart;妊娠不良结局|pregnancy complications;儿童生长发育迟缓|delayed development in children",
     "多吃红肉、动物血和深绿色蔬菜|eating red meat and dark green vegetables;同时摄入维生素C促进吸收|vitamin C with meals to boost absorption;孕期按需补铁|iron supplements in pregnancy when advised"),
    ("偏头痛|migraine", "neuro",
     "反复发作的中重度搏动性头痛为特征的原发性头痛|a primary headache disorder with recurrent moderate to severe throbbing attacks",
     "青中年女性多见|most common in young and middle-aged women",
     "单侧搏动性头痛|throbbing headache on one side;恶心呕吐|nausea and vomiting;畏光畏声|sensitivity to light and sound;部分有视觉先兆|visual aura in some",
     "遗传因素|genetic factors;睡眠不足|lack of sleep;月经周期|the menstrual cycle;精神压力|stress;某些食物和饮酒|certain foods and alcohol",
     "依据典型病史临床诊断|clinical diagnosis from a typical history;神经系统查体|neurological examination;有警示征时头颅影像|brain imaging if there are red flags",
     "发作时在安静暗室休息|resting in a dark quiet room during attacks;记录头痛日记|keeping a headache diary;频繁发作者预防性治疗|preventive treatment for frequent attacks",
     "sumatriptan ibuprofen paracetamol",
     "药物过度使用性头痛|medication-overuse headache;慢性偏头痛|chronic migraine;生活质量下降|reduced quality of life",
     "规律作息|regular sleep and meals;识别并避免诱因|identifying and avoiding triggers;每月止痛药不宜超过10至15天|limiting painkillers to fewer than 10-15 days a month"),
    ("癫痫|epilepsy", "neuro",
     "大脑神经元异常放电导致反复癫痫发作的慢性脑部疾病|a chronic brain disorder in which abnormal electrical discharges cause recurrent seizures",
     "任何年龄均可发病，儿童和老年人发病率较高|any age, with peaks in childhood and old age",
     "意识丧失伴肢体抽搐|loss of consciousness with jerking limbs;短暂凝视发呆|brief staring spells;发作后意识模糊|confusion after a seizure;舌咬伤|tongue biting",
     "遗传因素|genetic factors;脑外伤|head injury;脑卒中|stroke;脑部感染|brain infection;原因不明|unknown cause in many",
     "脑电图|an electroencephalogram (EEG);头颅磁共振|brain MRI;血糖和电解质|blood glucose and electrolytes",
     "规律服用抗癫痫药|regular antiseizure medicine;避免诱因|avoiding triggers;难治性癫痫评估手术|surgical assessment for drug-resistant epilepsy",
     "levetiracetam",
     "癫痫持续状态|status epilepticus;意外伤害|accidental injury;癫痫猝死（罕见）|sudden unexpected death in epilepsy (rare)",
     "保证充足睡眠|enough sleep;避免饮酒|avoiding alcohol;不擅自停药|never stopping medicine suddenly;发作时让患者侧卧，不要往嘴里塞东西|placing the person on their side and putting nothing in the mouth during a seizure"),
    ("帕金森病|Parkinson's disease", "neuro",
     "黑质多巴胺能神经元变性导致的神经退行性疾病|a neurodegenerative disease caused by loss of dopamine-producing neurons in the substantia nigra",
     "60岁以上老年人|people over 60",
     "静止性震颤|resting tremor;动作迟缓|slowness of movement;肌强直|muscle rigidity;小碎步|shuffling gait;表情减少|reduced facial expression",
     "年龄增长|older age;遗传因素|genetic factors;接触农药等环境因素|environmental exposures such as pesticides",
     "依据临床表现诊断|clinical diagnosis from the signs;对左旋多巴治疗的反应|response to levodopa;头颅磁共振排除其他疾病|brain MRI to exclude other causes",
     "药物补充多巴胺|dopamine replacement;康复和运动训练|physiotherapy and exercise;晚期可考虑脑深部电刺激|deep brain stimulation in advanced disease",
     "levodopa",
     "跌倒|falls;吞咽困难|swallowing problems;认知障碍|cognitive decline;便秘和抑郁|constipation and depression",
     "规律运动|regular exercise;防跌倒|fall prevention;按时服药|taking medicines on time"),
    ("阿尔茨海默病|Alzheimer's disease", "neuro",
     "以进行性记忆和认知功能下降为特征的神经退行性疾病|a neurodegenerative disease with progressive loss of memory and thinking skills",
     "65岁以上老年人，发病率随年龄增长|people over 65, increasingly with age",
     "近事遗忘|forgetting recent events;找词困难|trouble finding words;定向力障碍|disorientation;性格改变|personality change;日常生活能力下降|difficulty with daily tasks",
     "年龄增长|older age;家族史和APOE ε4基因|family history and the APOE e4 gene;高血压和糖尿病|hypertension and diabetes;缺乏脑力和社交活动|little mental and social activity",
     "认知功能量表（如MMSE、MoCA）|cognitive tests such as the MMSE or MoCA;头颅磁共振|brain MRI;血液检查排除可逆原因|blood tests to exclude reversible causes",
     "认知训练|cognitive stimulation;照护者支持|support for carers;安全的居家环境|a safe home environment",
     "donepezil",
     "走失|wandering and getting lost;跌倒|falls;营养不良|malnutrition;肺部感染|chest infections",
     "控制血压和血糖|controlling blood pressure and glucose;多参加社交和脑力活动|staying socially and mentally active;规律运动|regular exercise;保护听力|protecting hearing"),
    ("抑郁症|depression", "psych",
     "以持续情绪低落和兴趣减退为核心表现的常见精神障碍|a common mental disorder with persistent low mood and loss of interest",
     "各年龄段均可发生，女性较多|people of all ages, more often women",
     "持续情绪低落|persistent low mood;兴趣减退|loss of interest;睡眠障碍|sleep problems;疲乏|fatigue;自责|feelings of guilt;注意力下降|poor concentration",
     "遗传因素|genetic factors;重大生活事件|major life events;慢性躯体疾病|chronic physical illness;社会支持不足|lack of social support",
     "临床访谈|a clinical interview;PHQ-9量表|the PHQ-9 questionnaire;甲状腺功能等排除躯体病因|thyroid tests and others to exclude physical causes;自杀风险评估|suicide risk assessment",
     "心理治疗（如认知行为治疗）|psychological therapy such as CBT;规律运动|regular exercise;中重度者药物治疗|medication for moderate to severe depression",
     "sertraline",
     "自杀风险|risk of suicide;社会功能受损|impaired work and relationships;物质滥用|substance misuse",
     "保持社交联系|staying connected with others;规律作息和运动|regular sleep and exercise;出现消极想法及时求助|seeking help early if dark thoughts appear"),
    ("广泛性焦虑障碍|generalised anxiety disorder", "psych",
     "以持续、过度且难以控制的担忧为特征的焦虑障碍|an anxiety disorder with persistent, excessive and hard-to-control worry",
     "青年和中年人，女性较多|young and middle-aged adults, more often women",
     "持续担忧|constant worry;坐立不安|restlessness;易疲劳|tiring easily;肌肉紧张|muscle tension;入睡困难|difficulty falling asleep;心悸|palpitations",
     "遗传因素|genetic factors;长期压力|long-term stress;童年不良经历|adverse childhood experiences;咖啡因过量|too much caffeine",
     "临床访谈|a clinical interview;GAD-7量表|the GAD-7 questionnaire;排除甲亢等躯体疾病|excluding physical causes such as an overactive thyroid",
     "认知行为治疗|cognitive behavioural therapy;放松训练|relaxation training;规律运动|regular exercise;必要时药物|medication when needed",
     "sertraline",
     "抑郁|depression;失眠|insomnia;酒精或镇静药依赖|dependence on alcohol or sedatives",
     "减少咖啡因|less caffeine;规律运动|regular exercise;学习放松技巧|learning relaxation skills"),
    ("失眠障碍|insomnia disorder", "psych",
     "入睡困难、睡眠维持困难或早醒并影响日间功能的睡眠障碍|a sleep disorder with trouble falling or staying asleep, or early waking, that affects daytime functioning",
     "中老年人和女性较多|more common in older adults and women",
     "入睡困难|difficulty falling asleep;夜间易醒|waking during the night;早醒|waking too early;日间疲乏|daytime tiredness;注意力下降|poor concentration",
     "精神压力|stress;不良睡眠习惯|poor sleep habits;焦虑抑郁|anxiety and depression;咖啡因和酒精|caffeine and alcohol;慢性疼痛|chronic pain",
     "睡眠日记|a sleep diary;失眠严重程度指数量表|the Insomnia Severity Index;必要时多导睡眠监测|polysomnography when needed",
     "失眠认知行为治疗（CBT-I）为首选|cognitive behavioural therapy for insomnia (CBT-I) first;睡眠卫生教育|sleep hygiene advice;短期谨慎用药|short-term medication with caution",
     "",
     "日间功能受损|impaired daytime functioning;意外事故风险增加|higher risk of accidents;情绪障碍|mood disorders",
     "固定起床时间|a fixed wake-up time;睡前避免使用手机|avoiding screens before bed;下午后不喝咖啡|no coffee after midday;卧室保持安静黑暗|a quiet, dark bedroom"),
    ("过敏性鼻炎|allergic rhinitis", "ent",
     "接触过敏原后由IgE介导的鼻黏膜炎症|an IgE-mediated inflammation of the nasal lining triggered by allergens",
     "儿童和青壮年，常合并哮喘或湿疹|children and young adults, often alongside asthma or eczema",
     "阵发性喷嚏|bouts of sneezing;清水样鼻涕|watery runny nose;鼻塞|nasal congestion;鼻痒|itchy nose;眼痒|itchy eyes",
     "花粉|pollen;尘螨|house dust mites;动物皮屑|animal dander;霉菌|mould;家族过敏史|a family history of allergy",
     "皮肤点刺试验|skin prick testing;血清特异性IgE|specific IgE blood tests;鼻内镜|nasal endoscopy",
     "避免过敏原|allergen avoidance;生理盐水洗鼻|saline nasal rinses;药物对症治疗|medicines for symptoms;过敏原特异性免疫治疗|allergen immunotherapy",
     "mometasone_nasal cetirizine montelukast",
     "鼻窦炎|sinusitis;哮喘|asthma;睡眠障碍|poor sleep;分泌性中耳炎|glue ear",
     "花粉季节减少外出并关窗|staying indoors with windows closed in pollen season;勤洗床品减少尘螨|washing bedding often to reduce mites;外出戴口罩|wearing a mask outdoors"),
    ("特应性皮炎（湿疹）|atopic dermatitis (eczema)", "skin",
     "以皮肤干燥、剧烈瘙痒和反复发作皮疹为特征的慢性炎症性皮肤病|a chronic inflammatory skin disease with dry skin, intense itch and recurring rashes",
     "婴幼儿和儿童最常见，部分持续到成年|infants and children most often, sometimes continuing into adulthood",
     "皮肤干燥|dry skin;剧烈瘙痒|intense itching;红斑和丘疹|red patches and bumps;渗出结痂|weeping and crusting;皮肤增厚|thickened skin",
     "皮肤屏障功能缺陷|a weakened skin barrier;遗传和过敏体质|genetics and atopy;肥皂和洗涤剂刺激|soaps and detergents;出汗和羊毛衣物|sweat and wool clothing",
     "依据临床表现诊断|clinical diagnosis;必要时过敏原检测|allergy tests when needed;继发感染时皮肤拭子培养|skin swabs if infection is suspected",
     "每日大量使用保湿剂|generous daily emollients;温水短时间洗浴|short lukewarm baths;外用抗炎药控制发作|topical anti-inflammatory treatment for flares",
     "hydrocortisone_cream cetirizine",
     "皮肤细菌感染|bacterial skin infection;疱疹性湿疹|eczema herpeticum;睡眠障碍|poor sleep",
     "坚持使用保湿霜|using moisturiser every day;选择纯棉衣物|cotton clothing;避免过热和搔抓|avoiding overheating and scratching"),
    ("银屑病|psoriasis", "skin",
     "免疫介导的慢性复发性炎症性皮肤病|a chronic, relapsing, immune-mediated inflammatory skin disease",
     "青壮年多见，男女均可发病|young adults most often, in both men and women",
     "边界清楚的红色斑块|well-defined red plaques;表面覆盖银白色鳞屑|silvery scales on top;瘙痒|itching;指甲凹陷|nail pitting;关节痛|joint pain in some",
     "遗传因素|genetic factors;咽喉链球菌感染|streptococcal throat infection;精神压力|stress;吸烟和饮酒|smoking and alcohol;皮肤外伤|skin injury",
     "依据皮损临床诊断|clinical diagnosis from the skin lesions;必要时皮肤活检|a skin biopsy when needed;评估关节症状|assessing joint symptoms",
     "外用糖皮质激素和维生素D3类似物|topical steroids and vitamin D analogues;光疗|phototherapy;中重度者系统治疗或生物制剂|systemic drugs or biologics for moderate to severe disease",
     "methotrexate",
     "银屑病关节炎|psoriatic arthritis;代谢综合征|metabolic syndrome;心血管疾病风险增加|higher cardiovascular risk;心理负担|psychological distress",
     "戒烟限酒|stopping smoking and limiting alcohol;保持皮肤湿润|keeping the skin moisturised;控制体重|weight control"),
    ("急性中耳炎|acute otitis media", "ent",
     "中耳腔的急性细菌或病毒感染|an acute bacterial or viral infection of the middle ear",
     "6个月至3岁的婴幼儿最常见|infants and toddlers aged 6 months to 3 years most often",
     "耳痛|ear pain;发热|fever;烦躁哭闹|irritability and crying;听力下降|reduced hearing;抓耳|pulling at the ear",
     "上呼吸道感染后|after a cold;咽鼓管短而平|a short, level Eustachian tube in children;被动吸烟|passive smoking;奶瓶平躺喂养|bottle feeding while lying flat",
     "耳镜检查见鼓膜充血膨隆|otoscopy showing a red, bulging eardrum;鼓室压测定|tympanometry",
     "止痛退热|pain and fever relief;轻症可观察48至72小时|watchful waiting for 48-72 hours in mild cases;需要时抗生素治疗|antibiotics when needed",
     "amoxicillin paracetamol ibuprofen",
     "鼓膜穿孔|eardrum perforation;分泌性中耳炎|glue ear;乳突炎（罕见）|mastoiditis (rare)",
     "避免被动吸烟|avoiding second-hand smoke;母乳喂养|breastfeeding;按计划接种肺炎球菌疫苗|routine pneumococcal vaccination"),
    ("白内障|cataract", "eye",
     "晶状体混浊导致视力下降的眼病|an eye condition in which the lens becomes cloudy and vision fades",
     "60岁以上老年人|people over 60",
     "无痛性视力逐渐下降|gradual painless blurring of vision;眩光|glare;夜间视物困难|poor night vision;颜色变暗淡|faded colours",
     "年龄增长|older age;糖尿病|diabetes;长期紫外线照射|long-term sunlight exposure;吸烟|smoking;长期使用糖皮质激素|long-term steroid use",
     "视力检查|visual acuity testing;裂隙灯检查|slit-lamp examination;眼底检查|fundus examination",
     "早期更换眼镜|updated glasses early on;影响生活时行超声乳化白内障摘除联合人工晶状体植入术|phacoemulsification with lens implant when vision affects daily life",
     "",
     "视力严重下降|severe loss of vision;跌倒|falls;继发性青光眼（少见）|secondary glaucoma (uncommon)",
     "户外佩戴防紫外线太阳镜|wearing UV-blocking sunglasses;控制血糖|controlling blood glucose;戒烟|stopping smoking"),
    ("青光眼|glaucoma", "eye",
     "以特征性视神经损害和视野缺损为表现、常与眼压升高相关的眼病|an eye disease with characteristic optic nerve damage and visual field loss, often linked to raised eye pressure",
     "40岁以上人群，有家族史或高度近视者风险更高|people over 40, especially with a family history or high myopia",
     "开角型早期无症状|no early symptoms in open-angle glaucoma;周边视野逐渐缩小|gradual loss of side vision;急性闭角型时眼痛头痛|eye pain and headache in acute angle closure;虹视|haloes around lights",
     "眼压升高|raised eye pressure;年龄增长|older age;家族史|family history;高度近视|high myopia",
     "眼压测量|eye pressure measurement;视野检查|visual field testing;光学相干断层扫描（OCT）|optical coherence tomography (OCT);房角镜检查|gonioscopy",
     "降眼压滴眼液|pressure-lowering eye drops;激光治疗|laser treatment;必要时手术|surgery when needed",
     "latanoprost timolol",
     "不可逆的视力丧失|irreversible loss of vision;失明|blindness",
     "40岁后定期眼科检查|regular eye checks after 40;有家族史者更早筛查|earlier screening with a family history;坚持用药|using drops every day"),
    ("深静脉血栓形成|deep vein thrombosis", "cv",
     "血液在深静脉内异常凝结形成血栓的疾病|a condition in which a blood clot forms in a deep vein, usually in the leg",
     "术后、长期卧床、肿瘤患者和孕产妇|people after surgery, those confined to bed, cancer patients and pregnant or postpartum women",
     "一侧下肢肿胀|swelling of one leg;小腿疼痛或压痛|calf pain or tenderness;皮肤发红发热|red, warm skin;浅静脉扩张|prominent surface veins",
     "长期制动|immobility;手术和创伤|surgery and trauma;恶性肿瘤|cancer;口服避孕药|oral contraceptives;长途旅行|long-distance travel",
     "D-二聚体|D-dimer;下肢静脉加压超声|compression ultrasound of the leg veins;Wells评分|the Wells score",
     "抗凝治疗至少3个月|anticoagulation for at least three months;早期下地活动|early mobilisation;穿弹力袜|compression stockings",
     "rivaroxaban enoxaparin warfarin",
     "肺栓塞|pulmonary embolism;血栓后综合征|post-thrombotic syndrome;复发|recurrence",
     "术后早期活动|moving early after surgery;长途旅行时多活动小腿并多饮水|calf exercises and fluids on long journeys;高危者药物预防|preventive anticoagulation for high-risk patients"),
    ("肥胖症|obesity", "endo",
     "体内脂肪过多积聚、危害健康的慢性代谢性疾病|a chronic metabolic disease in which excess body fat harms health",
     "各年龄段，成人中比例不断上升|all ages, with rising rates in adults",
     "体重指数增高|a raised body mass index;腰围增大|a large waist;活动后气短|breathlessness on exertion;打鼾|snoring;关节疼痛|joint pain",
     "能量摄入过多|eating more energy than is used;久坐少动|a sedentary lifestyle;睡眠不足|short sleep;遗传因素|genetic factors;某些药物|some medicines",
     "体重指数（中国成人BMI≥28为肥胖）|body mass index (BMI 30 or more in most adults, 28 or more in Chinese adults);腰围|waist circumference;血糖和血脂|blood glucose and lipids",
     "减少总热量摄入|reducing calorie intake;增加身体活动|more physical activity;行为干预|behavioural support;重度肥胖者考虑减重手术|bariatric surgery for severe obesity",
     "metformin",
     "2型糖尿病|type 2 diabetes;高血压|hypertension;脂肪肝|fatty liver disease;睡眠呼吸暂停|sleep apnoea;骨关节炎|osteoarthritis",
     "均衡饮食|a balanced diet;减少含糖饮料和零食|fewer sugary drinks and snacks;每天活动至少30分钟|at least 30 minutes of activity a day;保证睡眠|enough sleep"),
    ("良性前列腺增生|benign prostatic hyperplasia", "uro",
     "前列腺腺体和间质良性增生导致下尿路症状的疾病|a benign enlargement of the prostate that causes lower urinary tract symptoms",
     "50岁以上男性|men over 50",
     "尿频|frequent urination;夜尿增多|getting up at night to urinate;排尿等待|hesitancy;尿线变细|a weak stream;排尿不尽感|a feeling of incomplete emptying",
     "年龄增长|older age;雄激素作用|the effect of male hormones;家族史|family history",
     "国际前列腺症状评分（IPSS）|the International Prostate Symptom Score (IPSS);直肠指检|digital rectal examination;泌尿系超声和残余尿测定|ultrasound with post-void residual volume;PSA检测|a PSA test",
     "轻症观察并调整生活方式|watchful waiting and lifestyle changes for mild symptoms;药物治疗|medication;症状严重时经尿道前列腺切除术|transurethral resection of the prostate for severe symptoms",
     "tamsulosin",
     "急性尿潴留|acute urinary retention;反复尿路感染|recurrent urinary infections;膀胱结石|bladder stones;肾功能受损|kidney damage",
     "晚间少喝水|drinking less in the evening;少饮酒和咖啡|less alcohol and caffeine;避免久坐|avoiding long periods of sitting"),
    ("急性支气管炎|acute bronchitis", "resp",
     "多由病毒引起的支气管黏膜急性炎症|an acute inflammation of the bronchial lining, usually caused by viruses",
     "各年龄段，冬春季多见|people of all ages, mostly in winter and spring",
     "咳嗽|cough;咳痰|sputum;胸部不适|chest discomfort;低热|low-grade fever;咳嗽可持续2至3周|a cough lasting two to three weeks",
     "呼吸道病毒感染|respiratory viruses;吸烟|smoking;空气污染|air pollution",
     "肺部听诊|listening to the chest;怀疑肺炎时行胸部X线|a chest X-ray if pneumonia is suspected;血常规|a full blood count",
     "休息|rest;多饮水|fluids;对症止咳和退热|cough and fever relief;通常不需要抗生素|antibiotics are usually unnecessary",
     "paracetamol",
     "肺炎|pneumonia;哮喘或慢阻肺加重|worsening asthma or COPD",
     "戒烟|stopping smoking;勤洗手|hand washing;接种流感疫苗|flu vaccination"),
]

DISEASES = []
for (_n, _s, _defn, _who, _sym, _cause, _test, _treat, _drugs, _comp, _prev) in _DISEASES:
    _d = {
        "name": P1(_n), "sys": SYS[_s], "syskey": _s, "defn": P1(_defn), "who": P1(_who),
        "sym": P(_sym), "cause": P(_cause), "test": P(_test), "treat": P(_treat),
        "drugs": [DRUGS[k] for k in _drugs.split()], "comp": P(_comp), "prev": P(_prev),
    }
    DISEASES.append(_d)


# ---------------------------------------------------------------------------
# Sentence templates.  Keys: {n} name, {N} capitalised name, {s} system,
# {d} definition, {w} who, {l} list, {f} first item, {r} rest of list.
# The LAST template of every list is reserved for held-out documents, so that
# held-out text is always a new rendering of the same facts.
# ---------------------------------------------------------------------------
TPL = {"zh": {}, "en": {}}

TPL["zh"]["defn"] = [
    "{n}是一种{d}。",
    "{n}是指{d}。",
    "所谓{n}，是{d}。",
    "医学上，{n}被定义为{d}。",
    "{n}属于{s}疾病，是{d}。",
    "简单地说，{n}就是{d}。",
    "{n}是临床上常见的{s}疾病，指{d}。",
    "在{s}疾病中，{n}相当常见，它是{d}。",
    "通俗地讲，{n}是{d}，属于{s}的问题。",
]
TPL["en"]["defn"] = [
    "{N} is {d}.",
    "{N} can be described as {d}.",
    "In medical terms, {n} is {d}.",
    "{N} is a common condition of the {s}: {d}.",
    "Put simply, {n} is {d}.",
    "Doctors define {n} as {d}.",
    "{N}, a disorder of the {s}, is {d}.",
    "Among diseases of the {s}, {n} is one of the most familiar; it is {d}.",
    "In plain words, {n} is {d}, and it belongs to the {s}.",
]
TPL["zh"]["who"] = [
    "本病多见于{w}。",
    "{n}好发于{w}。",
    "高发人群包括{w}。",
    "从流行病学看，{w}更容易患{n}。",
    "临床上，{n}常见于{w}。",
    "需要特别关注的人群是{w}。",
    "{w}是{n}的主要受累人群。",
    "一般而言，{w}患病风险较高。",
    "据统计，{n}的高发人群为{w}。",
]
TPL["en"]["who"] = [
    "It mainly affects {w}.",
    "{N} is most often seen in {w}.",
    "Groups at higher risk include {w}.",
    "The condition is particularly common in {w}.",
    "Epidemiologically, {n} is concentrated in {w}.",
    "Those most likely to develop it are {w}.",
    "Clinicians see {n} most frequently in {w}.",
    "As a rule, {w} carry the highest risk.",
    "Surveys show that {n} is more frequent in {w}.",
]
TPL["zh"]["sym"] = [
    "{n}的典型症状包括{l}。",
    "患者常表现为{l}。",
    "临床上，{n}最常见的表现是{l}。",
    "如果出现{l}等情况，应警惕{n}的可能。",
    "{n}的主要症状有：{l}。",
    "就症状而言，{n}以{f}最为突出，还可伴有{r}。",
    "不少患者是因为{l}而就诊，随后被诊断为{n}。",
    "{n}起病时可有{l}，症状轻重因人而异。",
    "常见主诉为{l}，部分患者症状并不典型。",
    "从症状看，{f}较为常见，此外还可出现{r}。",
]
TPL["en"]["sym"] = [
    "Typical symptoms of {n} include {l}.",
    "Patients commonly present with {l}.",
    "The most frequent features of {n} are {l}.",
    "If {l} appear, {n} should be considered.",
    "The main symptoms are {l}.",
    "Among the symptoms, {f} is the most prominent, and {r} may also occur.",
    "Many people first seek help because of {l}, and are then diagnosed with {n}.",
    "At onset there may be {l}, and severity varies from person to person.",
    "Common complaints are {l}, although some patients have atypical symptoms.",
    "Clinically, {f} is common, and {r} can also be present.",
]
TPL["zh"]["cause"] = [
    "{n}的常见病因和危险因素包括{l}。",
    "导致{n}的因素很多，主要有{l}。",
    "研究表明，{l}都会增加患{n}的风险。",
    "{n}的发生与{l}密切相关。",
    "常见诱因有{l}。",
    "在危险因素中，{f}最为重要，{r}也不容忽视。",
    "从病因上看，{n}主要与{l}有关。",
    "{l}是公认的危险因素。",
    "医生在询问病史时，会重点了解是否存在{l}。",
    "引起{n}的原因包括{l}，往往多种因素共同作用。",
]
TPL["en"]["cause"] = [
    "Common causes and risk factors for {n} include {l}.",
    "Many factors contribute to {n}, chiefly {l}.",
    "Research shows that {l} all raise the risk of {n}.",
    "{N} is closely linked to {l}.",
    "Typical triggers are {l}.",
    "Of the risk factors, {f} matters most, but {r} should not be overlooked.",
    "In terms of causes, {n} is mainly related to {l}.",
    "Recognised risk factors are {l}.",
    "When taking a history, doctors ask specifically about {l}.",
    "The causes of {n} include {l}, and several often act together.",
]
TPL["zh"]["test"] = [
    "诊断{n}常用的检查包括{l}。",
    "确诊通常依靠{l}。",
    "医生一般会安排{l}。",
    "为明确诊断，可进行{l}。",
    "{n}的辅助检查以{f}为主，必要时加做{r}。",
    "常用的诊断手段有{l}。",
    "怀疑{n}时，首先考虑{f}，随后可结合{r}综合判断。",
    "实验室和影像学检查包括{l}。",
    "在门诊，{n}的评估通常包括{l}。",
    "明确诊断需要结合病史、体格检查以及{l}。",
]
TPL["en"]["test"] = [
    "Tests commonly used to diagnose {n} include {l}.",
    "Diagnosis usually relies on {l}.",
    "A doctor will generally arrange {l}.",
    "To confirm the diagnosis, {l} may be carried out.",
    "The key investigation is {f}, with {r} added when needed.",
    "Standard diagnostic tools are {l}.",
    "When {n} is suspected, {f} comes first, followed by {r} as needed.",
    "Laboratory and imaging tests include {l}.",
    "In clinic, assessment of {n} typically involves {l}.",
    "The diagnosis combines the history, examination and {l}.",
]
TPL["zh"]["treat"] = [
    "治疗上强调{l}。",
    "{n}的处理原则包括{l}。",
    "一般治疗包括{l}。",
    "除药物外，{l}同样重要。",
    "治疗{n}时，医生通常建议{l}。",
    "管理{n}的基础是{f}，同时配合{r}。",
    "{n}的综合治疗包括{l}。",
    "非药物措施有{l}。",
    "治疗方案因人而异，常见措施包括{l}。",
    "长期管理{n}需要{l}。",
]
TPL["en"]["treat"] = [
    "Treatment emphasises {l}.",
    "The principles of managing {n} include {l}.",
    "General measures include {l}.",
    "Alongside medicines, {l} are just as important.",
    "For {n}, doctors usually recommend {l}.",
    "The foundation of care is {f}, combined with {r}.",
    "Comprehensive treatment of {n} includes {l}.",
    "Non-drug measures are {l}.",
    "Plans vary between patients, but common steps include {l}.",
    "Long-term management of {n} requires {l}.",
]
TPL["zh"]["drugs"] = [
    "常用药物包括{l}。",
    "药物治疗方面，可选用{l}。",
    "{n}的一线用药有{l}。",
    "医生可能会开具{l}。",
    "在药物选择上，{f}较为常用，也可根据情况使用{r}。",
    "治疗{n}的常见药物有{l}。",
    "临床上常用{l}治疗{n}。",
    "用药需在医生指导下进行，常见选择为{l}。",
    "根据病情，医生会在{l}中选择合适的药物。",
    "可用于{n}的药物包括{l}。",
]
TPL["en"]["drugs"] = [
    "Commonly used medicines include {l}.",
    "For drug treatment, options include {l}.",
    "First-line medicines for {n} are {l}.",
    "A doctor may prescribe {l}.",
    "Of the drugs, {f} is widely used, and {r} may be chosen depending on the case.",
    "Common drugs for {n} are {l}.",
    "In practice, {l} are used to treat {n}.",
    "Medicines should be taken under medical guidance; usual choices are {l}.",
    "Depending on severity, the doctor will choose among {l}.",
    "Drugs used for {n} include {l}.",
]
TPL["zh"]["comp"] = [
    "如果控制不佳，{n}可引起{l}。",
    "{n}的主要并发症有{l}。",
    "长期未治疗可能导致{l}。",
    "需要警惕的并发症包括{l}。",
    "{n}最令人担心的并发症是{f}，此外还有{r}。",
    "病情进展时可出现{l}。",
    "规范治疗可以降低{l}的风险。",
    "若延误诊治，可能发生{l}。",
    "{n}的远期风险包括{l}。",
    "严重时，{n}可能并发{l}。",
]
TPL["en"]["comp"] = [
    "If poorly controlled, {n} can lead to {l}.",
    "The main complications of {n} are {l}.",
    "Left untreated, it may cause {l}.",
    "Complications to watch for include {l}.",
    "The most feared complication is {f}, along with {r}.",
    "As the disease progresses, {l} may develop.",
    "Proper treatment lowers the risk of {l}.",
    "If diagnosis and treatment are delayed, {l} can occur.",
    "Long-term risks of {n} include {l}.",
    "In severe cases, {n} may be complicated by {l}.",
]
TPL["zh"]["prev"] = [
    "预防{n}的措施包括{l}。",
    "日常生活中应注意{l}。",
    "专家建议{l}。",
    "想要降低患病风险，可以做到{l}。",
    "预防的关键在于{f}，同时做到{r}。",
    "对于高危人群，{l}尤为重要。",
    "健康教育的重点是{l}。",
    "做好以下几点有助于预防{n}：{l}。",
    "医生常提醒大家{l}。",
    "在预防方面，{l}都是简单有效的办法。",
]
TPL["en"]["prev"] = [
    "Ways to prevent {n} include {l}.",
    "In daily life, it helps to focus on {l}.",
    "Experts recommend {l}.",
    "To lower the risk, people can aim for {l}.",
    "The key to prevention is {f}, together with {r}.",
    "For people at high risk, {l} are especially important.",
    "Health education focuses on {l}.",
    "The following help to prevent {n}: {l}.",
    "Doctors often remind patients about {l}.",
    "For prevention, {l} are simple and effective steps.",
]
# drug-level templates: {n} drug name, {N} capitalised, {c} class, {i} indication,
# {m} mechanism, {o} dose, {l} list (side effects / contraindications)
TPL["zh"]["dcls"] = [
    "{n}属于{c}，主要用于{i}。",
    "{n}是一种{c}，临床上用于{i}。",
    "作为{c}，{n}常用于{i}。",
    "{n}为{c}，适应证包括{i}。",
    "{i}的治疗中常用到{n}，它属于{c}。",
    "{n}（{c}）是治疗{i}的常用药物。",
    "从分类上看，{n}是{c}，用于{i}。",
    "{n}归类为{c}，可用于{i}。",
    "说到{i}的用药，{n}是常见选择，属于{c}。",
]
TPL["en"]["dcls"] = [
    "{N} is {c} used mainly for {i}.",
    "{N}, {c}, is prescribed for {i}.",
    "As {c}, {n} is commonly used for {i}.",
    "{N} is {c}; its indications include {i}.",
    "In the treatment of {i}, {n} is frequently used; it is {c}.",
    "{N} ({c}) is a standard medicine for {i}.",
    "By class, {n} is {c}, used for {i}.",
    "{N} is classed as {c} and can be used for {i}.",
    "When it comes to {i}, {n} is a common choice; it is {c}.",
]
TPL["zh"]["dmech"] = [
    "其作用机制是{m}。",
    "{n}通过{m}发挥作用。",
    "它的药理作用在于{m}。",
    "从机制上讲，{n}主要是{m}。",
    "{n}起效的原理是{m}。",
    "该药的作用方式为{m}。",
    "简单来说，{n}的作用是{m}。",
    "药理学上，{n}的核心作用是{m}。",
    "{n}的疗效来自{m}。",
]
TPL["en"]["dmech"] = [
    "It works by {m}.",
    "{N} acts by {m}.",
    "Its pharmacological action consists of {m}.",
    "Mechanistically, {n} works mainly by {m}.",
    "The effect of {n} comes from {m}.",
    "The drug acts by {m}.",
    "In simple terms, {n} works by {m}.",
    "Pharmacologically, the key action of {n} is {m}.",
    "The benefit of {n} arises from {m}.",
]
TPL["zh"]["ddose"] = [
    "成人常用剂量为{o}。",
    "{n}的成人常规用法是{o}。",
    "一般成人用量：{o}。",
    "用法用量方面，成人通常{o}。",
    "{n}的典型成人剂量为{o}，具体应遵医嘱。",
    "成人一般{o}，需根据病情调整。",
    "按照常规，{n}成人{o}。",
    "在成人中，{n}通常的用法为{o}。",
    "{n}的推荐起始方案是{o}，实际剂量以医嘱为准。",
]
TPL["en"]["ddose"] = [
    "The usual adult dose is {o}.",
    "For adults, {n} is normally given as {o}.",
    "Typical adult dosing: {o}.",
    "In adults the standard regimen is {o}.",
    "A typical adult dose of {n} is {o}, as directed by a doctor.",
    "Adults generally take {o}, adjusted to the clinical situation.",
    "By convention, adults receive {o}.",
    "In adult patients, {n} is usually given as {o}.",
    "The recommended starting regimen for {n} is {o}, with the final dose set by the prescriber.",
]
TPL["zh"]["dse"] = [
    "常见不良反应有{l}。",
    "{n}的副作用包括{l}。",
    "用药期间可能出现{l}。",
    "需要留意的不良反应是{l}。",
    "{n}最常见的不良反应是{f}，也可出现{r}。",
    "部分患者服用{n}后会有{l}。",
    "该药的不良反应主要为{l}。",
    "使用{n}时应注意{l}等不良反应。",
    "{n}的安全性总体良好，但可能引起{l}。",
]
TPL["en"]["dse"] = [
    "Common side effects are {l}.",
    "Side effects of {n} include {l}.",
    "During treatment, {l} may occur.",
    "Adverse effects to watch for are {l}.",
    "The most common side effect of {n} is {f}, and {r} may also occur.",
    "Some people taking {n} notice {l}.",
    "The main adverse effects of the drug are {l}.",
    "When using {n}, be alert to side effects such as {l}.",
    "{N} is generally well tolerated but can cause {l}.",
]
TPL["zh"]["dci"] = [
    "禁忌与注意事项：{l}。",
    "以下情况禁用或慎用{n}：{l}。",
    "{n}的禁忌证包括{l}。",
    "使用前需排除{l}。",
    "需要注意的是，{l}。",
    "用药注意：{l}。",
    "对于{l}的情况，应避免或谨慎使用。",
    "医生开具{n}前会确认是否存在{l}。",
    "关于禁忌，{l}。",
]
TPL["en"]["dci"] = [
    "Contraindications and cautions: {l}.",
    "{N} should be avoided or used with care in {l}.",
    "Contraindications to {n} include {l}.",
    "Before use, {l} must be ruled out.",
    "Note the following: {l}.",
    "Cautions: {l}.",
    "It should be avoided or used cautiously in cases of {l}.",
    "Before prescribing {n}, the doctor checks for {l}.",
    "Regarding contraindications: {l}.",
]

TITLES = {
    "zh": {
        "ency": ["{n}", "{n}（{s}疾病）", "词条：{n}", "{n}概述"],
        "text": ["第{k}节 {n}", "{n}的诊断与治疗", "{n}：临床要点", "第{k}章 {s}疾病——{n}"],
        "leaf": ["患者须知：{n}", "关于{n}，您需要了解的事", "{n}健康小课堂", "走近{n}"],
        "faq": ["{n}常见问题解答", "关于{n}的十个问题", "{n}答疑"],
        "drug": ["药品说明：{n}", "{n}", "用药指导：{n}", "药物简介：{n}"],
        "cmp": ["{a}与{b}的比较", "{s}疾病：{a}和{b}", "如何区分{a}与{b}"],
    },
    "en": {
        "ency": ["{N}", "{N} ({s})", "Encyclopedia entry: {n}", "{N}: an overview"],
        "text": ["Section {k}: {N}", "Diagnosis and treatment of {n}", "{N}: key clinical points", "Chapter {k}. Diseases of the {s}: {n}"],
        "leaf": ["Patient information: {n}", "What you need to know about {n}", "Understanding {n}", "Living with {n}"],
        "faq": ["{N}: frequently asked questions", "Ten questions about {n}", "Questions and answers on {n}"],
        "drug": ["Drug information: {n}", "{N}", "Medicine guide: {n}", "Drug profile: {n}"],
        "cmp": ["{A} compared with {b}", "Diseases of the {s}: {a} and {b}", "How to tell {a} from {b}"],
    },
}

FAQ_Q = {
    "zh": {
        "defn": ["什么是{n}？", "{n}是怎么回事？"],
        "who": ["哪些人容易得{n}？", "{n}好发于哪些人群？"],
        "sym": ["{n}有哪些症状？", "得了{n}会有什么表现？"],
        "cause": ["{n}是什么原因引起的？", "为什么会得{n}？"],
        "test": ["怎样诊断{n}？", "需要做哪些检查？"],
        "treat": ["{n}怎么治疗？", "除了吃药还要注意什么？"],
        "drugs": ["治疗{n}常用哪些药？", "需要吃什么药？"],
        "comp": ["{n}有哪些并发症？", "不治疗会怎样？"],
        "prev": ["如何预防{n}？", "平时应该注意什么？"],
    },
    "en": {
        "defn": ["What is {n}?", "What exactly is {n}?"],
        "who": ["Who gets {n}?", "Who is most at risk?"],
        "sym": ["What are the symptoms of {n}?", "How does {n} show itself?"],
        "cause": ["What causes {n}?", "Why do people develop {n}?"],
        "test": ["How is {n} diagnosed?", "Which tests are needed?"],
        "treat": ["How is {n} treated?", "What else helps besides medicine?"],
        "drugs": ["Which medicines are used for {n}?", "What drugs might I be given?"],
        "comp": ["What complications can {n} cause?", "What happens if it is not treated?"],
        "prev": ["How can {n} be prevented?", "What can I do day to day?"],
    },
}

CLOSERS = {
    "zh": [
        "如有不适，请及时到正规医院就诊。",
        "具体诊疗方案请遵医嘱。",
        "早发现、早诊断、早治疗是改善预后的关键。",
        "患者应定期复诊，与医生保持沟通。",
        "本文仅供健康科普参考。",
        "症状加重或出现新的不适时，应尽快就医。",
        "良好的生活方式对控制病情十分重要。",
        "坚持随访有助于及时调整治疗。",
    ],
    "en": [
        "Seek medical attention promptly if symptoms are troubling.",
        "Follow your doctor's advice on diagnosis and treatment.",
        "Early detection and treatment improve the outlook.",
        "Regular follow-up and good communication with your doctor are important.",
        "This text is for general health education only.",
        "If symptoms worsen or new problems appear, see a doctor soon.",
        "A healthy lifestyle plays a big part in keeping the condition under control.",
        "Regular reviews allow treatment to be adjusted in time.",
    ],
}


# ---------------------------------------------------------------------------
# Rendering helpers
# ---------------------------------------------------------------------------
def cap(s):
    return s[:1].upper() + s[1:] if s else s


def join(items, lang, rng=None):
    items = list(items)
    if lang == "zh":
        conj = "和" if rng is None else rng.choice(["和", "和", "以及", "及"])
        if len(items) == 1:
            return items[0]
        return "、".join(items[:-1]) + conj + items[-1]
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


class Renderer:
    """Picks templates; in held-out mode it favours the reserved templates."""

    def __init__(self, rng, heldout=False):
        self.rng = rng
        self.heldout = heldout

    def tpl(self, lang, key):
        lst = TPL[lang][key]
        if self.heldout:
            if self.rng.random() < 0.5:
                return lst[-1]
            return self.rng.choice(lst)
        return self.rng.choice(lst[:-1])

    def subset(self, pairs, lang, lo=2):
        rng = self.rng
        if lang == "zh":
            lo += 1
        items = [p[0] if lang == "zh" else p[1] for p in pairs]
        if len(items) <= lo:
            k = len(items)
        else:
            k = rng.randint(lo, len(items))
        idx = [0] + sorted(rng.sample(range(1, len(items)), k - 1))
        chosen = [items[i] for i in idx]
        self.ordered = list(chosen)
        if rng.random() < 0.4:
            rng.shuffle(chosen)
        return chosen

    def fill(self, lang, key, name, items=None, **kw):
        t = self.tpl(lang, key)
        if items is not None and len(items) < 2 and ("{f}" in t or "{r}" in t):
            for _ in range(20):
                t = self.tpl(lang, key)
                if "{f}" not in t and "{r}" not in t:
                    break
        vals = dict(n=name, N=cap(name), **kw)
        if items is not None and "{f}" in t and sorted(items) == sorted(getattr(self, "ordered", [])):
            items = list(self.ordered)
        if items is not None:
            vals["l"] = join(items, lang, self.rng)
            vals["f"] = items[0]
            vals["r"] = join(items[1:], lang, self.rng) if len(items) > 1 else ""
        return t.format(**vals)


def L(pair, lang):
    return pair[0] if lang == "zh" else pair[1]


SEC = {
    "zh": {"defn": "概述", "who": "流行病学", "sym": "临床表现", "cause": "病因与危险因素",
           "test": "诊断", "treat": "治疗", "drugs": "常用药物", "comp": "并发症", "prev": "预防"},
    "en": {"defn": "Overview", "who": "Who is affected", "sym": "Clinical features",
           "cause": "Causes and risk factors", "test": "Diagnosis", "treat": "Treatment",
           "drugs": "Medicines", "comp": "Complications", "prev": "Prevention"},
}


def disease_sentence(R, d, lang, key):
    n = L(d["name"], lang)
    s = L(d["sys"], lang)
    if key == "defn":
        return R.fill(lang, "defn", n, d=L(d["defn"], lang), s=s)
    if key == "who":
        return R.fill(lang, "who", n, w=L(d["who"], lang))
    if key == "drugs":
        if not d["drugs"]:
            return ""
        names = [L(x["name"], lang) for x in d["drugs"]]
        k = R.rng.randint(1, len(names))
        names = names[:k] if R.rng.random() < 0.6 else R.rng.sample(names, k)
        if len(names) == 1:
            if lang == "zh":
                return R.rng.choice(["常用药物为{x}。", "药物治疗可选用{x}。", "医生常会开具{x}。"]).format(x=names[0])
            return R.rng.choice(["A commonly used medicine is {x}.", "Drug treatment may include {x}.",
                                 "Doctors often prescribe {x}."]).format(x=names[0])
        return R.fill(lang, "drugs", n, names)
    items = R.subset(d[key], lang)
    return R.fill(lang, key, n, items)


def drug_sentences(R, dr, lang, keys=("dcls", "ddose", "dse")):
    n = L(dr["name"], lang)
    out = []
    for k in keys:
        if k == "dcls":
            out.append(R.fill(lang, k, n, c=L(dr["cls"], lang), i=L(dr["ind"], lang)))
        elif k == "dmech":
            out.append(R.fill(lang, k, n, m=L(dr["mech"], lang)))
        elif k == "ddose":
            out.append(R.fill(lang, k, n, o=L(dr["dose"], lang)))
        elif k == "dse":
            out.append(R.fill(lang, k, n, R.subset(dr["se"], lang)))
        elif k == "dci":
            out.append(R.fill(lang, k, n, R.subset(dr["ci"], lang, lo=1)))
    return out


def sp(lang):
    return "" if lang == "zh" else " "


def clamp_doc(title, paras, lang, lo=300, hi=1500):
    """Drop optional paragraphs (never the first) until the doc fits."""
    paras = [p for p in paras if p]
    text = title + "\n\n" + "\n\n".join(paras)
    while len(text) > hi and len(paras) > 2:
        paras.pop(-2 if len(paras) > 3 else -1)
        text = title + "\n\n" + "\n\n".join(paras)
    return text


def doc_disease(R, d, lang, style):
    rng = R.rng
    n = L(d["name"], lang)
    s = L(d["sys"], lang)
    J = sp(lang)
    title = rng.choice(TITLES[lang][style if style in TITLES[lang] else "ency"]).format(
        n=n, N=cap(n), s=s, k=rng.randint(1, 12))
    order = ["sym", "cause", "test", "treat", "drugs", "comp", "prev"]
    if rng.random() < 0.5:
        i, j = rng.sample(range(len(order)), 2)
        order[i], order[j] = order[j], order[i]
    if lang == "en" and rng.random() < 0.5:
        order.remove(rng.choice(order))
    head = ["defn"] + (["who"] if (lang == "zh" or rng.random() < 0.7) else [])
    paras = []
    if style == "faq":
        for key in head + order:
            q = rng.choice(FAQ_Q[lang][key]).format(n=n)
            a = disease_sentence(R, d, lang, key)
            if key == "drugs" and d["drugs"] and rng.random() < 0.6:
                dr = rng.choice(d["drugs"])
                a += J + J.join(drug_sentences(R, dr, lang, ("ddose",)))
            if a:
                paras.append(("问：" + q + "\n答：" + a) if lang == "zh" else ("Q: " + q + "\nA: " + a))
        return clamp_doc(title, paras, lang)
    intro = J.join(disease_sentence(R, d, lang, k) for k in head)
    if style == "leaf":
        if lang == "zh":
            intro = rng.choice(["您可能听说过{n}。", "很多人对{n}并不陌生。", "本页简要介绍{n}。", ""]).format(n=n) + intro
        else:
            intro = rng.choice(["You may have heard of {n}. ", "Many people have questions about {n}. ",
                                "This leaflet explains {n} in brief. ", ""]).format(n=n) + intro
    paras.append(intro)
    for key in order:
        body = disease_sentence(R, d, lang, key)
        if not body:
            continue
        if key == "drugs" and d["drugs"]:
            for dr in rng.sample(d["drugs"], min(len(d["drugs"]), rng.randint(1, 2))):
                keys = rng.choice([("dcls", "ddose"), ("dcls", "ddose", "dse"), ("dcls", "dse"), ("dcls", "dmech", "ddose")])
                body += J + J.join(drug_sentences(R, dr, lang, keys))
        if key in ("sym", "treat") and rng.random() < 0.3:
            extra = "prev" if key == "treat" else "cause"
            if extra not in order:
                body += J + disease_sentence(R, d, lang, extra)
        if style == "text":
            body = ("【" + SEC["zh"][key] + "】" if lang == "zh" else SEC["en"][key] + ": ") + body
        paras.append(body)
    if rng.random() < 0.6:
        paras.append(rng.choice(CLOSERS[lang]))
    return clamp_doc(title, paras, lang)


def doc_drug(R, dr, lang):
    rng = R.rng
    n = L(dr["name"], lang)
    J = sp(lang)
    title = rng.choice(TITLES[lang]["drug"]).format(n=n, N=cap(n))
    keys = ["dcls", "dmech", "ddose", "dse", "dci"]
    if rng.random() < 0.4:
        keys[1], keys[2] = keys[2], keys[1]
    paras = []
    sents = drug_sentences(R, dr, lang, keys)
    # group into 2-3 paragraphs
    cut = rng.choice([2, 3])
    paras.append(J.join(sents[:cut]))
    paras.append(J.join(sents[cut:]))
    users = [d for d in DISEASES if dr in d["drugs"]]
    if users:
        names = [L(d["name"], lang) for d in rng.sample(users, min(3, len(users)))]
        if lang == "zh":
            paras.append(rng.choice(["在本手册中，{x}的治疗方案会提到本药。", "相关疾病：{x}。",
                                     "临床上，{x}患者可能会用到{n}。"]).format(x=join(names, lang, rng), n=n))
        else:
            paras.append(rng.choice(["Related conditions: {x}.", "Patients with {x} may be prescribed {n}.",
                                     "This medicine appears in treatment plans for {x}."]).format(x=join(names, lang), n=n))
    if users:
        d = rng.choice(users)
        paras.append(sp(lang).join([disease_sentence(R, d, lang, "defn"), disease_sentence(R, d, lang, "sym")]))
    if lang == "zh":
        paras.append(rng.choice(["请按医嘱用药，不要自行加量或停药。", "如出现严重不良反应，请立即停药并就医。",
                                 "用药前请仔细阅读说明书，并告知医生正在使用的其他药物。", "请将药品放在儿童接触不到的地方。"]))
    else:
        paras.append(rng.choice(["Take this medicine exactly as prescribed and do not change the dose yourself.",
                                 "Stop the medicine and seek help at once if a serious reaction occurs.",
                                 "Read the leaflet before use and tell your doctor about other medicines you take.",
                                 "Keep all medicines out of the reach of children."]))
    return clamp_doc(title, paras, lang)


def doc_compare(R, a, b, lang):
    rng = R.rng
    na, nb = L(a["name"], lang), L(b["name"], lang)
    s = L(a["sys"], lang)
    title = rng.choice(TITLES[lang]["cmp"]).format(a=na, b=nb, A=cap(na), s=s)
    paras = []
    if lang == "zh":
        paras.append(rng.choice(["{a}和{b}都属于{s}疾病，但两者在症状和治疗上有明显区别。",
                                 "同为{s}疾病，{a}与{b}常被放在一起讨论。",
                                 "下面从定义、症状和治疗三方面比较{a}与{b}。"]).format(a=na, b=nb, s=s))
    else:
        paras.append(rng.choice(["{A} and {b} are both diseases of the {s}, but they differ in symptoms and treatment.",
                                 "As conditions of the same system, {a} and {b} are often discussed together.",
                                 "Below, {a} and {b} are compared in terms of definition, symptoms and treatment."]).format(
            a=na, b=nb, A=cap(na), s=s))
    keys = rng.sample(["sym", "cause", "test", "treat", "drugs", "comp"], 3)
    for d in (a, b):
        paras.append(sp(lang).join([disease_sentence(R, d, lang, "defn")] + [disease_sentence(R, d, lang, k) for k in keys]))
    return clamp_doc(title, paras, lang)


PATIENT_ZH = ["男", "女"]
PATIENT_EN = ["man", "woman"]
DURATION = [("2天", "2 days"), ("3天", "3 days"), ("1周", "1 week"), ("2周", "2 weeks"),
            ("1个月", "1 month"), ("3个月", "3 months"), ("半年", "6 months"), ("数小时", "a few hours")]


def clinical_note(R, d, lang):
    """A short structured clinical note (synthetic patient)."""
    rng = R.rng
    age = rng.randint(18, 85)
    sex = rng.randint(0, 1)
    dur = rng.choice(DURATION)
    sym = R.subset(d["sym"], lang)[:3]
    risk = R.subset(d["cause"], lang)[:2]
    test = R.subset(d["test"], lang)[:2]
    treat = R.subset(d["treat"], lang)[:2]
    n = L(d["name"], lang)
    drug = rng.choice(d["drugs"]) if d["drugs"] else None
    if lang == "zh":
        lines = [
            "患者，{}，{}岁。".format(PATIENT_ZH[sex], age),
            "主诉：{}{}。".format("、".join(sym), L(dur, lang)),
            "现病史：患者{}前出现{}，{}。".format(L(dur, lang), join(sym, lang, rng),
                                          rng.choice(["逐渐加重", "时轻时重", "休息后无明显缓解", "自行服药效果不佳"])),
            "既往史及危险因素：{}。".format(join(risk, lang, rng)),
            "辅助检查：已完成{}，结果支持诊断。".format(join(test, lang, rng)),
            "诊断：{}。".format(n),
            "处理：{}{}。".format(join(treat, lang, rng),
                               "；予{}，{}".format(L(drug["name"], lang), L(drug["dose"], lang)) if drug else ""),
            "随访：{}后复诊，如有{}及时就医。".format(rng.choice(["1周", "2周", "1个月", "3个月"]),
                                          rng.choice(["症状加重", "新发不适", "药物不良反应"])),
        ]
        return "\n".join(lines)
    lines = [
        "Patient: {}-year-old {}.".format(age, PATIENT_EN[sex]),
        "Presenting complaint: {} for {}.".format(join(sym, lang), L(dur, lang)),
        "History: {} began {} ago and {}.".format(cap(join(sym, lang)), L(dur, lang),
                                                  rng.choice(["has slowly worsened", "comes and goes",
                                                              "has not settled with rest", "did not improve with over-the-counter remedies"])),
        "Background and risk factors: {}.".format(join(risk, lang)),
        "Investigations: {} completed; findings support the diagnosis.".format(cap(join(test, lang))),
        "Assessment: {}.".format(n),
        "Plan: {}{}.".format(cap(join(treat, lang)),
                             "; start {}, {}".format(L(drug["name"], lang), L(drug["dose"], lang)) if drug else ""),
        "Follow-up: review in {}, sooner if {}.".format(rng.choice(["1 week", "2 weeks", "1 month", "3 months"]),
                                                        rng.choice(["symptoms worsen", "new problems appear", "side effects occur"])),
    ]
    return "\n".join(lines)


def doc_case(R, d, lang):
    rng = R.rng
    n = L(d["name"], lang)
    if lang == "zh":
        title = rng.choice(["病例记录：{n}", "门诊病历摘要（{n}）", "临床病例：{n}"]).format(n=n)
        tail = rng.choice(["讨论：", "病例分析：", "点评："]) + disease_sentence(R, d, lang, "defn") + disease_sentence(R, d, lang, "comp")
    else:
        title = rng.choice(["Case record: {n}", "Clinic note summary ({n})", "Clinical case: {n}"]).format(n=n)
        tail = rng.choice(["Discussion: ", "Case comment: ", "Learning point: "]) + disease_sentence(R, d, lang, "defn") + " " + disease_sentence(R, d, lang, "comp")
    return clamp_doc(title, [clinical_note(R, d, lang), tail], lang)


STYLE_WEIGHTS = [("ency", 3), ("text", 3), ("leaf", 3), ("faq", 2), ("drug", 3), ("case", 2), ("cmp", 1)]


def domain_doc(R, lang):
    for _ in range(50):
        text = _domain_doc(R, lang)
        if 300 <= len(text) <= 1500:
            return text
    return text


def _domain_doc(R, lang):
    rng = R.rng
    style = rng.choices([s for s, _ in STYLE_WEIGHTS], [w for _, w in STYLE_WEIGHTS])[0]
    if style == "drug":
        return doc_drug(R, DRUGS[rng.choice(sorted(DRUGS))], lang)
    if style == "case":
        return doc_case(R, rng.choice(DISEASES), lang)
    if style == "cmp":
        a = rng.choice(DISEASES)
        same = [d for d in DISEASES if d["syskey"] == a["syskey"] and d is not a]
        if same:
            return doc_compare(R, a, rng.choice(same), lang)
        style = "ency"
    return doc_disease(R, rng.choice(DISEASES), lang, style)


# ---------------------------------------------------------------------------
# General (non-medical) corpus: entries with bilingual fact sentences
# ---------------------------------------------------------------------------
GCAT = {
    "geo": P1("地理|geography"), "food": P1("烹饪|cooking"), "hist": P1("历史|history"),
    "sci": P1("生活科学|everyday science"), "sport": P1("体育|sport"), "tech": P1("科技|technology"),
    "travel": P1("旅行|travel"), "nature": P1("自然|nature"),
}
_GENERAL = [
    ("geo", "长江|the Yangtze River", [
        "长江是中国最长的河流，全长约6300公里。|The Yangtze is the longest river in China, about 6,300 kilometres long.",
        "它发源于青藏高原，向东注入东海。|It rises on the Tibetan Plateau and flows east into the East China Sea.",
        "长江流域是重要的农业区，盛产水稻。|Its basin is a major farming region known for rice.",
        "三峡大坝建在长江中游，是世界上装机容量最大的水电站之一。|The Three Gorges Dam on its middle reaches is one of the largest hydropower stations in the world.",
        "上海、武汉和重庆都位于长江沿岸。|Shanghai, Wuhan and Chongqing all lie along the river."]),
    ("geo", "喜马拉雅山脉|the Himalayas", [
        "喜马拉雅山脉横亘在青藏高原南缘。|The Himalayas stretch along the southern edge of the Tibetan Plateau.",
        "世界最高峰珠穆朗玛峰海拔约8849米。|Its highest peak, Mount Everest, stands about 8,849 metres above sea level.",
        "这条山脉由印度板块与欧亚板块碰撞形成，至今仍在缓慢抬升。|The range was formed by the collision of the Indian and Eurasian plates and is still slowly rising.",
        "高山冰川为多条大河提供水源。|Its glaciers feed several great rivers.",
        "登山者通常在春季冲击顶峰，因为那时风力相对较弱。|Climbers usually attempt the summit in spring, when winds are lighter."]),
    ("geo", "撒哈拉沙漠|the Sahara Desert", [
        "撒哈拉沙漠位于非洲北部，是世界上最大的热沙漠。|The Sahara in northern Africa is the largest hot desert in the world.",
        "这里白天炎热，夜晚气温却可能骤降。|Days are scorching, yet nights can turn surprisingly cold.",
        "沙漠中只有少数绿洲可以种植椰枣。|Only a few oases support crops such as dates.",
        "数千年前，撒哈拉曾是有湖泊和草原的湿润地区。|Thousands of years ago the Sahara was a wetter land of lakes and grassland.",
        "骆驼长期以来是穿越沙漠的重要交通工具。|Camels have long been the key to crossing it."]),
    ("geo", "亚马孙河|the Amazon River", [
        "亚马孙河流经南美洲，是世界上流量最大的河流。|The Amazon flows across South America and carries more water than any other river.",
        "它的流域覆盖着面积巨大的热带雨林。|Its basin is covered by a vast tropical rainforest.",
        "雨林中生活着数量惊人的动植物物种。|The forest is home to an astonishing number of plant and animal species.",
        "雨季时河水会淹没大片森林。|In the rainy season the river floods huge areas of forest.",
        "当地居民依靠河流捕鱼和运输。|Local communities depend on the river for fishing and transport."]),
    ("geo", "青藏高原|the Tibetan Plateau", [
        "青藏高原平均海拔超过4000米，被称为世界屋脊。|With an average height above 4,000 metres, the Tibetan Plateau is called the roof of the world.",
        "这里空气稀薄，紫外线强烈。|The air is thin and sunlight is intense.",
        "黄河和长江都发源于这片高原。|Both the Yellow River and the Yangtze begin here.",
        "牦牛是高原牧民最重要的牲畜。|The yak is the most important animal for herders on the plateau.",
        "高原湖泊星罗棋布，青海湖是其中最大的咸水湖。|Lakes are scattered across it, and Qinghai Lake is the largest salt lake."]),
    ("geo", "地中海|the Mediterranean Sea", [
        "地中海被欧洲、亚洲和非洲三大洲环绕。|The Mediterranean is surrounded by Europe, Asia and Africa.",
        "它通过直布罗陀海峡与大西洋相连。|It joins the Atlantic through the Strait of Gibraltar.",
        "沿岸属于地中海气候，夏季炎热干燥，冬季温和多雨。|Its coasts have a Mediterranean climate with hot dry summers and mild wet winters.",
        "橄榄和葡萄是这一地区的传统作物。|Olives and grapes are traditional crops of the region.",
        "古代许多文明在地中海沿岸兴起。|Many ancient civilisations grew up along its shores."]),
    ("food", "番茄炒蛋|tomato and egg stir-fry", [
        "番茄炒蛋是中国家庭最常见的家常菜之一。|Tomato and egg stir-fry is one of the most common home dishes in China.",
        "做法是先把鸡蛋炒至凝固盛出，再炒番茄出汁。|The eggs are scrambled until just set and set aside, then the tomatoes are cooked until juicy.",
        "最后把鸡蛋倒回锅中，加少许盐和糖调味。|The eggs go back in with a little salt and sugar.",
        "这道菜酸甜适口，适合配米饭。|It is sweet and sour and goes well with rice.",
        "有人喜欢加葱花，也有人喜欢加一点番茄酱。|Some cooks add spring onion, others a spoonful of ketchup."]),
    ("food", "饺子|dumplings (jiaozi)", [
        "饺子是北方春节餐桌上的传统食物。|Dumplings are a traditional Spring Festival food in northern China.",
        "常见馅料有猪肉白菜、韭菜鸡蛋和三鲜。|Popular fillings include pork and cabbage, chive and egg, and three delicacies.",
        "和面时面粉与水的比例大约是二比一。|The dough uses roughly two parts flour to one part water.",
        "饺子可以煮、蒸，也可以煎成锅贴。|They can be boiled, steamed or pan-fried as potstickers.",
        "煮饺子时加几次冷水，可以让饺子熟透而不破。|Adding cold water a few times while boiling cooks them through without splitting."]),
    ("food", "意大利面|pasta", [
        "意大利面由硬质小麦粉和水制成。|Pasta is made from durum wheat flour and water.",
        "煮面时水要多，并加入适量盐。|It should be cooked in plenty of well-salted water.",
        "意大利人讲究煮到有嚼劲的程度。|Italians cook it until it is al dente, still firm to the bite.",
        "番茄酱、青酱和奶油酱是常见的搭配。|Tomato sauce, pesto and cream sauces are classic partners.",
        "不同形状的面适合不同的酱汁。|Different shapes suit different sauces."]),
    ("food", "面包|bread", [
        "面包的基本原料是面粉、水、盐和酵母。|Bread is made from flour, water, salt and yeast.",
        "酵母发酵产生二氧化碳，使面团膨胀。|Yeast ferments and releases carbon dioxide, which makes the dough rise.",
        "揉面能形成面筋，让面包更有弹性。|Kneading develops gluten and gives bread its chewiness.",
        "烤箱温度通常在200摄氏度左右。|Ovens are usually set to around 200 degrees Celsius.",
        "刚出炉的面包需要放凉后再切。|Fresh loaves should cool before slicing."]),
    ("food", "米饭|steamed rice", [
        "米饭是亚洲许多地区的主食。|Steamed rice is a staple food across much of Asia.",
        "煮饭前淘米可以去掉多余的淀粉。|Rinsing the rice first removes excess starch.",
        "一般来说，大米与水的比例约为一比一点二。|A common ratio is about one part rice to 1.2 parts water.",
        "煮好后焖十分钟，口感会更好。|Letting it rest for ten minutes after cooking improves the texture.",
        "剩饭适合做成蛋炒饭。|Leftover rice makes excellent egg fried rice."]),
    ("food", "咖喱|curry", [
        "咖喱是一类以多种香料调味的菜肴。|Curry is a family of dishes flavoured with blends of spices.",
        "常用香料包括姜黄、孜然、香菜籽和辣椒。|Common spices include turmeric, cumin, coriander seed and chilli.",
        "印度、泰国和日本的咖喱风味各不相同。|Indian, Thai and Japanese curries taste quite different.",
        "先用油炒香香料，味道会更浓郁。|Frying the spices in oil first brings out their aroma.",
        "椰奶常用来让咖喱更加顺滑。|Coconut milk is often used to make the sauce smoother."]),
    ("hist", "丝绸之路|the Silk Road", [
        "丝绸之路是古代连接东亚与地中海的贸易网络。|The Silk Road was an ancient trade network linking East Asia with the Mediterranean.",
        "西汉时张骞出使西域，为这条通道的开辟奠定了基础。|Zhang Qian's missions to the west in the Han dynasty helped open the route.",
        "商人运送丝绸、瓷器、香料和马匹。|Merchants carried silk, porcelain, spices and horses.",
        "宗教、技术和艺术也沿着这条路传播。|Religions, technologies and art spread along it too.",
        "敦煌是丝绸之路上的重要城市。|Dunhuang was one of its key oasis cities."]),
    ("hist", "印刷术|printing", [
        "雕版印刷在唐代已经广泛使用。|Woodblock printing was widely used in the Tang dynasty.",
        "北宋毕昇发明了活字印刷。|Bi Sheng invented movable type in the Northern Song dynasty.",
        "十五世纪，古腾堡在欧洲推广了金属活字印刷机。|In the fifteenth century Gutenberg spread the metal movable-type press in Europe.",
        "印刷术让书籍变得便宜，知识传播更快。|Printing made books cheaper and spread knowledge faster.",
        "印刷术被列为中国古代四大发明之一。|Printing is counted among the Four Great Inventions of ancient China."]),
    ("hist", "万里长城|the Great Wall", [
        "长城是中国古代修建的大型军事防御工程。|The Great Wall is a vast military defence system built in ancient China.",
        "秦始皇统一六国后将各段城墙连接起来。|After unifying China, the First Emperor of Qin linked earlier walls together.",
        "今天看到的砖石长城大多建于明代。|Most of the brick and stone wall seen today dates from the Ming dynasty.",
        "长城沿线设有烽火台，用来传递军情。|Beacon towers along the wall passed warnings quickly.",
        "1987年长城被列入世界遗产名录。|It was added to the World Heritage List in 1987."]),
    ("hist", "工业革命|the Industrial Revolution", [
        "工业革命十八世纪中叶始于英国。|The Industrial Revolution began in Britain in the mid-eighteenth century.",
        "瓦特改良的蒸汽机成为工厂的主要动力。|James Watt's improved steam engine became the main power source for factories.",
        "纺织业是最早实现机械化的行业之一。|Textiles were among the first industries to be mechanised.",
        "铁路的出现大大缩短了城市之间的距离。|Railways dramatically shortened journeys between cities.",
        "大量人口从农村迁往城市。|Large numbers of people moved from the countryside to towns."]),
    ("hist", "郑和下西洋|the voyages of Zheng He", [
        "明朝航海家郑和在1405年至1433年间七次远航。|The Ming navigator Zheng He led seven voyages between 1405 and 1433.",
        "船队最远到达东非沿岸。|His fleets reached as far as the coast of East Africa.",
        "宝船的规模在当时世界上首屈一指。|His treasure ships were among the largest of their time.",
        "远航促进了中国与南亚、西亚的交流。|The voyages strengthened ties with South and West Asia.",
        "郑和的航海比哥伦布早了几十年。|They took place decades before Columbus sailed."]),
    ("hist", "古埃及金字塔|the pyramids of ancient Egypt", [
        "金字塔是古埃及法老的陵墓。|The pyramids were tombs for the pharaohs of ancient Egypt.",
        "胡夫金字塔建于约公元前2560年。|The Great Pyramid of Khufu was built around 2560 BC.",
        "建造金字塔需要大量石块和组织严密的劳动力。|Building them required huge blocks of stone and a well-organised workforce.",
        "金字塔的四面大致朝向东南西北。|Their sides face roughly north, south, east and west.",
        "吉萨金字塔群位于开罗附近。|The Giza pyramids stand near Cairo."]),
    ("sci", "彩虹|rainbows", [
        "彩虹是阳光在雨滴中折射和反射形成的。|A rainbow forms when sunlight is refracted and reflected inside raindrops.",
        "不同颜色的光折射角度不同，因此被分开。|Each colour bends by a different amount, so the colours separate.",
        "看到彩虹时，太阳一定在观察者身后。|When you see a rainbow, the sun is always behind you.",
        "彩虹的颜色从外到内依次是红、橙、黄、绿、蓝、靛、紫。|From outside to inside its colours run red, orange, yellow, green, blue, indigo and violet.",
        "有时还能看到颜色顺序相反的副虹。|Sometimes a fainter second bow appears with the colours reversed."]),
    ("sci", "水的沸点|the boiling point of water", [
        "在标准大气压下，水在100摄氏度沸腾。|At standard atmospheric pressure, water boils at 100 degrees Celsius.",
        "海拔越高，气压越低，沸点也越低。|The higher you go, the lower the pressure and the lower the boiling point.",
        "在高原上煮饭不容易熟，就是这个原因。|That is why food cooks slowly at high altitude.",
        "高压锅通过提高压力来提高沸点。|A pressure cooker raises the pressure and so raises the boiling point.",
        "在水中加盐会使沸点略微升高。|Adding salt raises the boiling point slightly."]),
    ("sci", "四季|the seasons", [
        "四季变化是因为地球自转轴倾斜约23.5度。|The seasons happen because Earth's axis is tilted by about 23.5 degrees.",
        "夏季时阳光更直接地照射地面，白天也更长。|In summer sunlight strikes the ground more directly and days are longer.",
        "南北半球的季节正好相反。|The seasons in the northern and southern hemispheres are opposite.",
        "季节变化与地球和太阳的距离关系不大。|They have little to do with the distance between Earth and the Sun.",
        "赤道附近的地区四季温差较小。|Places near the equator see little seasonal change in temperature."]),
    ("sci", "光合作用|photosynthesis", [
        "光合作用是植物利用光能制造养分的过程。|Photosynthesis is the process by which plants use light to make food.",
        "植物吸收二氧化碳和水，生成葡萄糖并释放氧气。|Plants take in carbon dioxide and water, make glucose and release oxygen.",
        "叶绿素使叶片呈现绿色，并负责吸收光能。|Chlorophyll makes leaves green and captures light energy.",
        "地球大气中的氧气主要来自光合作用。|Most of the oxygen in the air comes from photosynthesis.",
        "海洋中的藻类也进行大量光合作用。|Algae in the oceans carry out a great deal of it too."]),
    ("sci", "月相|phases of the Moon", [
        "月亮本身不发光，我们看到的是它反射的太阳光。|The Moon gives off no light of its own; we see reflected sunlight.",
        "月相的周期约为29.5天。|A full cycle of phases takes about 29.5 days.",
        "新月时月亮位于地球和太阳之间。|At new moon the Moon lies between Earth and the Sun.",
        "满月时整个被照亮的半球都朝向地球。|At full moon the whole lit half faces Earth.",
        "中秋节通常在满月前后。|The Mid-Autumn Festival falls close to a full moon."]),
    ("sci", "静电|static electricity", [
        "两种物体摩擦时，电子会从一个转移到另一个。|When two materials rub together, electrons move from one to the other.",
        "冬天空气干燥，更容易产生静电。|Dry winter air makes static more common.",
        "用塑料梳子梳头后，头发可能会飘起来。|Hair can stand on end after using a plastic comb.",
        "闪电是自然界中规模最大的静电放电。|Lightning is nature's largest static discharge.",
        "加油站要求避免静电，以防引燃油气。|Petrol stations guard against static to prevent fuel vapour igniting."]),
    ("sport", "足球|football (soccer)", [
        "足球比赛每队上场11名球员。|A football match is played by two teams of eleven.",
        "除守门员外，球员不能用手触球。|Apart from the goalkeeper, players may not handle the ball.",
        "一场正式比赛分为上下两个半场，各45分钟。|A match has two halves of 45 minutes.",
        "世界杯每四年举办一次。|The World Cup is held every four years.",
        "现代足球规则于十九世纪在英国确立。|The modern rules were set down in England in the nineteenth century."]),
    ("sport", "乒乓球|table tennis", [
        "乒乓球被称为中国的国球。|Table tennis is often called China's national sport.",
        "单局比赛先得11分者获胜，但需领先2分。|A game is won by the first to 11 points, with a two-point lead.",
        "发球时球必须先在本方台面弹起一次。|On a serve the ball must bounce once on the server's side first.",
        "旋转是乒乓球技术的核心。|Spin lies at the heart of the game.",
        "乒乓球在1988年成为奥运会正式项目。|It became an Olympic sport in 1988."]),
    ("sport", "马拉松|the marathon", [
        "马拉松的标准距离为42.195公里。|The standard marathon distance is 42.195 kilometres.",
        "这项运动的名称来自古希腊的传说。|The name comes from an ancient Greek legend.",
        "长跑需要循序渐进地增加训练量。|Runners need to build up their training gradually.",
        "比赛中要注意补充水分和电解质。|Drinking water and replacing salts during the race is important.",
        "许多城市每年都会举办马拉松赛。|Many cities host a marathon every year."]),
    ("sport", "篮球|basketball", [
        "篮球由詹姆斯·奈史密斯于1891年发明。|Basketball was invented by James Naismith in 1891.",
        "每队场上有5名球员。|Each team has five players on court.",
        "三分线外投篮命中得3分。|A basket from beyond the arc scores three points.",
        "运球时不能双手同时拍球。|Players may not dribble with both hands at once.",
        "篮球在中国学校中非常普及。|Basketball is hugely popular in Chinese schools."]),
    ("sport", "游泳|swimming", [
        "游泳是一项全身性有氧运动。|Swimming is a whole-body aerobic exercise.",
        "竞技游泳有自由泳、仰泳、蛙泳和蝶泳四种泳姿。|Competitive swimming uses four strokes: freestyle, backstroke, breaststroke and butterfly.",
        "标准泳池长度为50米。|An Olympic pool is 50 metres long.",
        "下水前做好热身可以减少抽筋。|Warming up before swimming helps prevent cramp.",
        "不要在没有救生员的野外水域独自游泳。|Never swim alone in open water without a lifeguard."]),
    ("tech", "互联网|the internet", [
        "互联网是由无数计算机网络相互连接形成的全球网络。|The internet is a global network formed by linking countless computer networks.",
        "它起源于二十世纪六十年代末的ARPANET。|It grew out of ARPANET in the late 1960s.",
        "TCP/IP协议让不同网络能够互相通信。|The TCP/IP protocols let different networks talk to each other.",
        "万维网于1989年由蒂姆·伯纳斯-李提出。|The World Wide Web was proposed by Tim Berners-Lee in 1989.",
        "如今人们通过互联网购物、学习和交流。|Today people shop, study and keep in touch online."]),
    ("tech", "智能手机|smartphones", [
        "智能手机把电话、相机和电脑的功能集于一身。|A smartphone combines a phone, a camera and a computer.",
        "触摸屏让操作变得直观。|Touch screens make them easy to use.",
        "手机内置的定位系统可以用于导航。|Built-in positioning makes navigation simple.",
        "电池续航一直是用户关心的问题。|Battery life remains a constant concern.",
        "应用商店提供了数以百万计的软件。|App stores offer millions of programs."]),
    ("tech", "太阳能电池|solar cells", [
        "太阳能电池可以把光能直接转化为电能。|Solar cells turn light directly into electricity.",
        "大多数太阳能电池板由硅制成。|Most panels are made from silicon.",
        "光伏发电不产生温室气体排放。|Solar power produces no greenhouse gas emissions while running.",
        "过去十年太阳能发电的成本大幅下降。|The cost of solar power has fallen sharply over the past decade.",
        "储能电池可以解决夜间无法发电的问题。|Batteries can store power for use at night."]),
    ("tech", "高速铁路|high-speed rail", [
        "高速铁路的运营速度一般超过每小时250公里。|High-speed trains usually run at more than 250 kilometres per hour.",
        "日本新干线于1964年开通。|Japan's Shinkansen opened in 1964.",
        "中国拥有世界上里程最长的高铁网络。|China has the world's longest high-speed rail network.",
        "无缝钢轨让列车运行更平稳。|Continuous welded rail gives a smoother ride.",
        "在中短途出行中，高铁常常比飞机更方便。|For medium distances, high-speed rail is often more convenient than flying."]),
    ("tech", "人工智能|artificial intelligence", [
        "人工智能研究如何让计算机完成需要智能的任务。|Artificial intelligence studies how to make computers perform tasks that need intelligence.",
        "机器学习让程序从数据中学习规律。|Machine learning lets programs learn patterns from data.",
        "语音识别和机器翻译是常见应用。|Speech recognition and machine translation are common applications.",
        "训练大型模型需要大量计算资源。|Training large models takes a lot of computing power.",
        "人们也在讨论人工智能带来的伦理问题。|People are also debating the ethical questions it raises."]),
    ("travel", "西安|Xi'an", [
        "西安是中国历史上建都朝代最多的城市之一。|Xi'an served as the capital for more Chinese dynasties than almost any other city.",
        "秦始皇兵马俑位于西安东郊。|The Terracotta Army of the First Emperor lies east of the city.",
        "保存完整的明代城墙可以骑自行车绕行一圈。|Visitors can cycle all the way round its intact Ming city wall.",
        "回民街的肉夹馍和羊肉泡馍很受欢迎。|Street food such as roujiamo and lamb soup with bread is popular in the Muslim Quarter.",
        "春秋两季是游览西安的最佳时间。|Spring and autumn are the best times to visit."]),
    ("travel", "桂林|Guilin", [
        "桂林以喀斯特山水闻名。|Guilin is famous for its karst landscape.",
        "乘船游漓江可以欣赏两岸的奇峰。|A boat trip on the Li River passes dramatic limestone peaks.",
        "阳朔是背包客喜爱的小镇。|Yangshuo is a favourite town for backpackers.",
        "桂林米粉是当地的特色早餐。|Guilin rice noodles are the local breakfast.",
        "夏季雨水较多，出行最好带伞。|Summer is rainy, so an umbrella is useful."]),
    ("travel", "京都|Kyoto", [
        "京都曾是日本的首都，长达一千多年。|Kyoto was Japan's capital for more than a thousand years.",
        "城内有大量寺庙和神社。|The city has a great many temples and shrines.",
        "春天的樱花和秋天的红叶吸引众多游客。|Cherry blossom in spring and maple leaves in autumn draw crowds.",
        "穿过伏见稻荷大社的千本鸟居是经典体验。|Walking through the thousands of gates at Fushimi Inari is a classic experience.",
        "在京都乘坐公交车和地铁都很方便。|Buses and the subway make getting around easy."]),
    ("travel", "巴黎|Paris", [
        "巴黎是法国首都，塞纳河穿城而过。|Paris is the capital of France, with the Seine running through it.",
        "埃菲尔铁塔建于1889年。|The Eiffel Tower was built in 1889.",
        "卢浮宫收藏着《蒙娜丽莎》。|The Louvre holds the Mona Lisa.",
        "街边咖啡馆是巴黎生活的一部分。|Pavement cafes are part of daily life.",
        "地铁线路密集，适合游客出行。|A dense metro network makes sightseeing easy."]),
    ("travel", "云南丽江|Lijiang in Yunnan", [
        "丽江古城是纳西族的聚居地。|The old town of Lijiang is home to the Naxi people.",
        "古城内小桥流水，街道用石板铺成。|Canals, little bridges and stone-paved lanes run through it.",
        "玉龙雪山就在城市北面。|Jade Dragon Snow Mountain rises to the north.",
        "这里海拔约2400米，初到时要注意休息。|At about 2,400 metres, visitors should rest on arrival.",
        "东巴文字是纳西族独特的象形文字。|Dongba script is the Naxi people's unique pictographic writing."]),
    ("nature", "大熊猫|the giant panda", [
        "大熊猫主要生活在四川、陕西和甘肃的山区。|Giant pandas live mainly in the mountains of Sichuan, Shaanxi and Gansu.",
        "它们的食物中约99%是竹子。|About 99 per cent of their diet is bamboo.",
        "一只成年大熊猫每天要花十几个小时进食。|An adult spends more than ten hours a day eating.",
        "经过多年保护，野生大熊猫数量有所回升。|After years of conservation, wild numbers have risen.",
        "幼崽刚出生时只有约100克重。|A newborn cub weighs only about 100 grams."]),
    ("nature", "蜜蜂|honeybees", [
        "蜜蜂是重要的传粉昆虫。|Honeybees are important pollinators.",
        "一个蜂群中通常只有一只蜂王。|A colony normally has a single queen.",
        "工蜂通过舞蹈告诉同伴花源的方向和距离。|Worker bees dance to tell others the direction and distance of flowers.",
        "蜂蜜是蜜蜂用花蜜酿成的。|Honey is made from flower nectar.",
        "农药和栖息地减少威胁着蜜蜂的生存。|Pesticides and habitat loss threaten bees."]),
    ("nature", "银杏|the ginkgo tree", [
        "银杏是现存最古老的树种之一，被称为活化石。|The ginkgo is one of the oldest living tree species and is called a living fossil.",
        "它的叶片呈扇形，秋天变成金黄色。|Its fan-shaped leaves turn golden in autumn.",
        "银杏树寿命很长，可以活上千年。|Ginkgo trees can live for over a thousand years.",
        "银杏分雌雄株，雌株结出白果。|Trees are male or female, and female trees bear seeds.",
        "许多城市把银杏作为行道树。|Many cities plant it along streets."]),
    ("nature", "候鸟迁徙|bird migration", [
        "许多鸟类每年在繁殖地和越冬地之间往返。|Many birds travel each year between breeding and wintering grounds.",
        "鸟类依靠太阳、星星和地磁场导航。|Birds navigate by the sun, the stars and Earth's magnetic field.",
        "北极燕鸥的迁徙距离是所有动物中最远的。|The Arctic tern makes the longest migration of any animal.",
        "湿地是候鸟重要的中途停歇地。|Wetlands are vital stopovers along the way.",
        "每年秋天，鄱阳湖都会迎来大批越冬候鸟。|Every autumn Poyang Lake welcomes huge flocks of wintering birds."]),
    ("nature", "珊瑚礁|coral reefs", [
        "珊瑚礁由微小的珊瑚虫分泌的碳酸钙构成。|Coral reefs are built from calcium carbonate laid down by tiny coral polyps.",
        "珊瑚与体内的藻类共生。|Corals live in partnership with algae inside their tissues.",
        "珊瑚礁被称为海洋中的热带雨林。|Reefs are called the rainforests of the sea.",
        "海水温度过高会导致珊瑚白化。|Water that is too warm causes coral bleaching.",
        "大堡礁是世界上最大的珊瑚礁系统。|The Great Barrier Reef is the largest reef system in the world."]),
    ("nature", "竹子|bamboo", [
        "竹子是一种生长极快的禾本科植物。|Bamboo is an extremely fast-growing grass.",
        "有些竹子一天可以长高近一米。|Some species grow almost a metre in a day.",
        "竹子可以用来建房、造纸和制作家具。|It is used for building, paper and furniture.",
        "竹笋是一种受欢迎的蔬菜。|Bamboo shoots are a popular vegetable.",
        "在中国文化中，竹子象征坚韧和气节。|In Chinese culture bamboo stands for resilience and integrity."]),
]
GENERAL = []
for _c, _n, _facts in _GENERAL:
    GENERAL.append({"cat": _c, "name": P1(_n), "facts": [tuple(f.split("|")) for f in _facts]})

GEN_OPEN = {
    "zh": ["说到{c}，就不能不提{n}。", "今天我们来聊聊{n}。", "{n}是一个很有意思的话题。",
           "关于{n}，有几件事值得了解。", "很多人对{n}既熟悉又陌生。", "在{c}知识中，{n}常被提起。",
           "下面简单介绍一下{n}。", "你了解{n}吗？", "提起{n}，人们往往有很多话题。"],
    "en": ["Any discussion of {c} sooner or later turns to {n}.", "Today let us look at {n}.",
           "{N} is a fascinating subject.", "There are a few things worth knowing about {n}.",
           "Many people know a little about {n}, but not much more.", "In {c}, {n} comes up again and again.",
           "Here is a short introduction to {n}.", "How much do you know about {n}?",
           "When {n} is mentioned, people usually have plenty to say."],
}
GEN_CONN = {
    "zh": ["", "", "此外，", "另外，", "值得一提的是，", "同时，", "不仅如此，", "有趣的是，", "人们还知道，", "还有一点，"],
    "en": ["", "", "In addition, ", "Also, ", "It is worth noting that ", "At the same time, ",
           "What is more, ", "Interestingly, ", "People also know that ", "One more point: "],
}
GEN_CLOSE = {
    "zh": ["总之，{n}值得我们进一步了解。", "希望这些介绍能让你对{n}有新的认识。", "这就是关于{n}的一些基本知识。",
           "有机会的话，不妨亲自去了解{n}。", "了解{n}，也能让我们更好地认识世界。", "以上是对{n}的简要介绍。",
           "关于{n}的故事还有很多。", "下次再遇到{n}，你就能说出个所以然了。", "可见，{n}与我们的生活并不遥远。"],
    "en": ["In short, {n} is well worth learning more about.", "I hope this gives you a fresh view of {n}.",
           "Those are some of the basics about {n}.", "If you get the chance, find out more about {n} for yourself.",
           "Knowing about {n} helps us understand the world a little better.", "That is a brief introduction to {n}.",
           "There is much more to the story of {n}.", "Next time {n} comes up, you will have something to say.",
           "Clearly, {n} is closer to everyday life than it may seem."],
}


_PROPER = {"Bi", "China", "Dongba", "Dunhuang", "Guilin", "Indian,", "Italians", "Jade", "James", "Japan's",
           "Kyoto", "Paris", "Shanghai,", "Xi'an", "Yangshuo", "Zhang", "Artificial"}


def _lower_first(s):
    w = s.split()[0]
    if w in _PROPER or w.isupper():
        return s
    return s[:1].lower() + s[1:]


def general_doc(rng, heldout=False):
    for _ in range(50):
        lang, text = _general_doc(rng, heldout)
        if 300 <= len(text) <= 1500:
            break
    return lang, text


def _general_doc(rng, heldout=False):
    lang = "zh" if rng.random() < 0.55 else "en"

    def pick(lst):
        if heldout and rng.random() < 0.5:
            return lst[-1]
        return rng.choice(lst if heldout else lst[:-1])

    def entry_par(e, opener=True):
        n = L(e["name"], lang)
        c = L(GCAT[e["cat"]], lang)
        facts = [f[0] if lang == "zh" else f[1] for f in e["facts"]]
        k = rng.randint(3, len(facts))
        rest = rng.sample(facts[1:], k - 1)
        facts = [facts[0]] + rest
        out = []
        if opener:
            out.append(pick(GEN_OPEN[lang]).format(n=n, N=cap(n), c=c))
        for i, f in enumerate(facts):
            conn = pick(GEN_CONN[lang]) if i else ""
            if lang == "en" and conn and not conn.endswith(": "):
                f = _lower_first(f)
            out.append(conn + f)
        return sp(lang).join(out)

    e = rng.choice(GENERAL)
    paras = [entry_par(e)]
    # add one or two related entries from the same category
    same = [x for x in GENERAL if x["cat"] == e["cat"] and x is not e]
    for x in rng.sample(same, rng.randint(1, 2)):
        paras.append(entry_par(x, opener=rng.random() < 0.5))
    n = L(e["name"], lang)
    paras.append(pick(GEN_CLOSE[lang]).format(n=n))
    title = n if lang == "zh" else cap(n)
    if rng.random() < 0.5:
        title = (L(GCAT[e["cat"]], lang) + "：" + title) if lang == "zh" else (cap(L(GCAT[e["cat"]], lang)) + ": " + title)
    text = title + "\n\n" + "\n\n".join(paras)
    while len(text) > 1500 and len(paras) > 2:
        paras.pop(-2)
        text = title + "\n\n" + "\n\n".join(paras)
    return lang, text


# ---------------------------------------------------------------------------
# SFT data (alpaca / sharegpt)
# ---------------------------------------------------------------------------
SYSTEM_PROMPTS = {
    "zh": ["你是一名专业的医学助手。", "你是一位耐心的全科医生，请用通俗易懂的语言回答。",
           "你是医学知识问答助手，回答需准确、简洁，并提醒用户必要时就医。"],
    "en": ["You are a professional medical assistant.", "You are a patient, friendly general practitioner. Answer in plain language.",
           "You are a medical knowledge assistant. Be accurate and concise, and advise seeing a doctor when appropriate."],
}
ADVICE = {
    "zh": ["以上信息仅供参考，具体请咨询医生。", "如症状持续或加重，请及时就医。", "用药请遵医嘱。", ""],
    "en": ["This information is general; please consult a doctor for personal advice.",
           "If symptoms persist or worsen, see a doctor.", "Always follow your prescriber's instructions.", ""],
}


def _qa_disease(R, d, lang, kind):
    rng = R.rng
    n = L(d["name"], lang)
    J = sp(lang)
    Q = {
        "zh": {
            "sym": ["{n}有哪些常见症状？", "得了{n}通常会有什么表现？", "请列出{n}的主要症状。"],
            "treat": ["{n}应该怎么治疗？", "请介绍{n}的治疗原则和常用药物。", "{n}的治疗方法有哪些？"],
            "test": ["诊断{n}需要做哪些检查？", "怎样确诊{n}？", "医生通常用哪些检查来评估{n}？"],
            "prev": ["如何预防{n}？", "日常生活中怎样降低患{n}的风险？"],
            "comp": ["{n}可能引起哪些并发症？", "{n}不及时治疗会有什么后果？"],
            "cause": ["{n}的病因和危险因素有哪些？", "哪些因素会增加患{n}的风险？"],
            "sys": ["{n}属于哪个系统的疾病？", "请判断{n}属于哪个身体系统。"],
            "plain": ["请用通俗易懂的语言向患者解释什么是{n}。", "我刚被诊断为{n}，能简单给我讲讲这是什么病吗？"],
        },
        "en": {
            "sym": ["What are the common symptoms of {n}?", "How does {n} usually present?", "List the main symptoms of {n}."],
            "treat": ["How is {n} treated?", "Describe the principles of treatment and the usual medicines for {n}.",
                      "What treatment options exist for {n}?"],
            "test": ["Which tests are used to diagnose {n}?", "How is {n} confirmed?",
                     "What investigations does a doctor use to assess {n}?"],
            "prev": ["How can {n} be prevented?", "What can people do in daily life to lower the risk of {n}?"],
            "comp": ["What complications can {n} cause?", "What happens if {n} is not treated?"],
            "cause": ["What are the causes and risk factors of {n}?", "Which factors raise the risk of {n}?"],
            "sys": ["Which body system does {n} belong to?", "Classify {n} by body system."],
            "plain": ["Explain {n} to a patient in simple, friendly language.",
                      "I have just been diagnosed with {n}. Can you explain what it is in plain words?"],
        },
    }[lang][kind]
    q = rng.choice(Q).format(n=n)
    if kind == "sym":
        a = disease_sentence(R, d, lang, "sym")
    elif kind == "treat":
        a = disease_sentence(R, d, lang, "treat")
        if d["drugs"]:
            a += J + disease_sentence(R, d, lang, "drugs")
            a += J + J.join(drug_sentences(R, d["drugs"][0], lang, ("dcls", "ddose")))
    elif kind == "test":
        a = disease_sentence(R, d, lang, "test")
    elif kind == "prev":
        a = disease_sentence(R, d, lang, "prev")
    elif kind == "comp":
        a = disease_sentence(R, d, lang, "comp")
    elif kind == "cause":
        a = disease_sentence(R, d, lang, "cause")
    elif kind == "sys":
        s = L(d["sys"], lang)
        a = ("{n}属于{s}疾病。".format(n=n, s=s) if lang == "zh" else "{N} is a disease of the {s}.".format(N=cap(n), s=s))
        a += J + disease_sentence(R, d, lang, "defn")
    else:  # plain
        a = J.join([disease_sentence(R, d, lang, "defn"), disease_sentence(R, d, lang, "sym"),
                    disease_sentence(R, d, lang, "prev")])
    adv = rng.choice(ADVICE[lang])
    if adv:
        a += ("\n\n" if rng.random() < 0.5 else J) + adv
    return q, a


def _qa_drug(R, dr, lang, kind):
    rng = R.rng
    n = L(dr["name"], lang)
    J = sp(lang)
    Q = {
        "zh": {
            "dose": ["{n}的成人常用剂量是多少？", "{n}一般怎么服用？"],
            "se": ["{n}有哪些常见副作用？", "服用{n}需要注意哪些不良反应和禁忌？"],
            "mech": ["{n}的作用机制是什么？", "请解释{n}是如何起效的。"],
            "cls": ["{n}属于哪一类药物？主要用于什么疾病？", "简要介绍药物{n}。"],
        },
        "en": {
            "dose": ["What is the usual adult dose of {n}?", "How is {n} normally taken?"],
            "se": ["What are the common side effects of {n}?", "What side effects and contraindications should I know about for {n}?"],
            "mech": ["What is the mechanism of action of {n}?", "Explain how {n} works."],
            "cls": ["What class of drug is {n}, and what is it used for?", "Give a brief overview of the drug {n}."],
        },
    }[lang][kind]
    q = rng.choice(Q).format(n=n)
    keys = {"dose": ("ddose",), "se": ("dse", "dci"), "mech": ("dcls", "dmech"), "cls": ("dcls", "dmech", "ddose")}[kind]
    a = J.join(drug_sentences(R, dr, lang, keys))
    if kind == "dose" and rng.random() < 0.7:
        a = (n + "：" if lang == "zh" else cap(n) + ": ") + a
    adv = rng.choice(ADVICE[lang])
    return q, a + (J + adv if adv else "")


def _note_summary(R, d, lang):
    rng = R.rng
    note = clinical_note(R, d, lang)
    lines = note.split("\n")
    n = L(d["name"], lang)
    if lang == "zh":
        q = rng.choice(["请用两三句话总结下面的门诊病历。", "阅读以下病历，概括患者情况、诊断和处理。", "请为下面的病历写一段简短摘要。"])
        sex, age = lines[0].replace("患者，", "").rstrip("。").split("，")
        who = age + ("男性" if sex == "男" else "女性")
        plan = lines[6].replace("处理：", "").rstrip("。")
        comp = lines[1].replace("主诉：", "").rstrip("。")
        a = "患者为{}，主诉{}，诊断为{}。处理方案：{}。建议按期随访，病情变化时及时就医。".format(who, comp, n, plan)
    else:
        q = rng.choice(["Summarise the following clinic note in two or three sentences.",
                        "Read the note below and summarise the patient, diagnosis and plan.",
                        "Write a brief summary of this clinical note."])
        who = lines[0].replace("Patient: ", "").rstrip(".")
        comp = lines[1].replace("Presenting complaint: ", "").rstrip(".")
        plan = lines[6].replace("Plan: ", "").rstrip(".")
        a = "A {} presented with {} and was assessed as having {}. Plan: {}. Follow-up has been arranged, with earlier review if things change.".format(
            who, comp, n, plan)
    return q, note, a


ALPACA_KINDS = ["sym", "treat", "test", "prev", "comp", "cause", "sys", "plain", "dose", "se", "mech", "cls", "note"]


def make_alpaca(rng):
    R = Renderer(rng)
    rows = []
    for i in range(N_SFT_ALPACA):
        lang = "zh" if i % 2 == 0 else "en"
        kind = ALPACA_KINDS[i % len(ALPACA_KINDS)] if i < len(ALPACA_KINDS) * 2 else rng.choice(ALPACA_KINDS)
        d = rng.choice(DISEASES)
        inp = ""
        if kind in ("dose", "se", "mech", "cls"):
            q, a = _qa_drug(R, DRUGS[rng.choice(sorted(DRUGS))], lang, kind)
        elif kind == "note":
            q, inp, a = _note_summary(R, d, lang)
        else:
            q, a = _qa_disease(R, d, lang, kind)
        row = {"instruction": q, "input": inp, "output": a}
        r = rng.random()
        if r < 0.3:
            row["system"] = rng.choice(SYSTEM_PROMPTS[lang])
        if kind not in ("note", "dose", "se", "mech", "cls") and rng.random() < 0.12:
            k2 = rng.choice([k for k in ("sym", "cause", "test", "prev") if k != kind])
            hq, ha = _qa_disease(R, d, lang, k2)
            row["history"] = [[hq, ha]]
        rows.append(row)
    return rows


FOLLOW = {
    "zh": {"test": ["那要做哪些检查才能确诊？", "需要去医院做什么检查吗？"],
           "treat": ["确诊后一般怎么治疗？", "那应该怎么治呢？"],
           "dose": ["{d}一般吃多少？", "医生开了{d}，常规剂量是多少？"],
           "prev": ["平时要注意些什么，怎么预防？", "有什么办法可以预防吗？"],
           "se": ["{d}有什么副作用吗？", "吃{d}要注意什么？"]},
    "en": {"test": ["Which tests would confirm it?", "Do I need any tests?"],
           "treat": ["How is it usually treated?", "And what is the treatment?"],
           "dose": ["What is the usual dose of {d}?", "My doctor mentioned {d}. What is the normal dose?"],
           "prev": ["What can I do to prevent it?", "Any tips for prevention day to day?"],
           "se": ["Does {d} have side effects?", "What should I watch out for with {d}?"]},
}


def make_sharegpt(rng):
    R = Renderer(rng)
    rows = []
    for i in range(N_SFT_SHAREGPT):
        lang = "zh" if i % 2 == 0 else "en"
        d = rng.choice([x for x in DISEASES if x["drugs"]])
        n = L(d["name"], lang)
        conv = []
        if rng.random() < 0.5:
            conv.append({"from": "system", "value": rng.choice(SYSTEM_PROMPTS[lang])})
        if lang == "zh":
            sym = "、".join(R.subset(d["sym"], lang)[:2])
            first = rng.choice(["我最近有{s}，会不会是{n}？", "{n}有哪些症状？我有点担心。", "什么是{n}？"]).format(s=sym, n=n)
        else:
            sym = join(R.subset(d["sym"], lang)[:2], lang)
            first = rng.choice(["I have had {s} recently. Could it be {n}?", "What are the symptoms of {n}? I am a bit worried.",
                                "What is {n}?"]).format(s=sym, n=n)
        J = sp(lang)
        a1 = J.join([disease_sentence(R, d, lang, "defn"), disease_sentence(R, d, lang, "sym")])
        conv += [{"from": "human", "value": first}, {"from": "gpt", "value": a1 + J + rng.choice(ADVICE[lang][:2])}]
        dr = rng.choice(d["drugs"])
        dn = L(dr["name"], lang)
        plan = rng.choice([["test", "treat"], ["treat", "dose"], ["test", "treat", "se"], ["treat", "prev"], ["dose", "se"]])
        for k in plan:
            q = rng.choice(FOLLOW[lang][k]).format(d=dn)
            if k == "test":
                a = disease_sentence(R, d, lang, "test")
            elif k == "treat":
                a = disease_sentence(R, d, lang, "treat") + J + disease_sentence(R, d, lang, "drugs")
            elif k == "prev":
                a = disease_sentence(R, d, lang, "prev")
            elif k == "dose":
                a = J.join(drug_sentences(R, dr, lang, ("dcls", "ddose"))) + J + ADVICE[lang][2]
            else:
                a = J.join(drug_sentences(R, dr, lang, ("dse", "dci")))
            conv += [{"from": "human", "value": q}, {"from": "gpt", "value": a}]
            if len([c for c in conv if c["from"] == "human"]) >= 3:
                break
        rows.append({"conversations": conv})
    return rows


# ---------------------------------------------------------------------------
# General instructions
# ---------------------------------------------------------------------------
NAMES_ZH = ["小明", "小红", "李华", "王芳", "张伟", "刘洋"]
NAMES_EN = ["Tom", "Anna", "Ben", "Lucy", "Sam", "Maria"]
ITEMS = [("苹果", "apples"), ("铅笔", "pencils"), ("鸡蛋", "eggs"), ("书", "books"), ("橙子", "oranges"), ("贴纸", "stickers")]


def _arith(rng, lang):
    t = rng.randrange(5)
    nm = rng.choice(NAMES_ZH if lang == "zh" else NAMES_EN)
    it = rng.choice(ITEMS)
    a, b, c = rng.randint(12, 60), rng.randint(2, 11), rng.randint(2, 9)
    if t == 0:
        ans = a + b - c
        if lang == "zh":
            return ("{m}有{a}个{i}，又买了{b}个，后来送给朋友{c}个。{m}现在有多少个{i}？".format(m=nm, a=a, b=b, c=c, i=it[0]),
                    "{a} + {b} - {c} = {x}。{m}现在有{x}个{i}。".format(a=a, b=b, c=c, x=ans, m=nm, i=it[0]))
        return ("{m} has {a} {i}, buys {b} more and then gives {c} to a friend. How many {i} does {m} have now?".format(m=nm, a=a, b=b, c=c, i=it[1]),
                "{a} + {b} - {c} = {x}. {m} now has {x} {i}.".format(a=a, b=b, c=c, x=ans, m=nm, i=it[1]))
    if t == 1:
        ans = b * c
        if lang == "zh":
            return ("每盒装{b}个{i}，一共有{c}盒。总共有多少个{i}？".format(b=b, c=c, i=it[0]),
                    "{b} × {c} = {x}。总共有{x}个{i}。".format(b=b, c=c, x=ans, i=it[0]))
        return ("Each box holds {b} {i} and there are {c} boxes. How many {i} are there in total?".format(b=b, c=c, i=it[1]),
                "{b} × {c} = {x}. There are {x} {i} in total.".format(b=b, c=c, x=ans, i=it[1]))
    if t == 2:
        tot = b * c
        if lang == "zh":
            return ("{t}个{i}平均分给{c}个人，每人分到几个？".format(t=tot, i=it[0], c=c),
                    "{t} ÷ {c} = {x}。每人分到{x}个{i}。".format(t=tot, c=c, x=b, i=it[0]))
        return ("{t} {i} are shared equally among {c} people. How many does each person get?".format(t=tot, i=it[1], c=c),
                "{t} ÷ {c} = {x}. Each person gets {x} {i}.".format(t=tot, c=c, x=b, i=it[1]))
    if t == 3:
        price, n = rng.randint(3, 20), rng.randint(2, 8)
        pay = ((price * n) // 10 + 1) * 10 + rng.choice([0, 10, 50])
        ch = pay - price * n
        if lang == "zh":
            return ("一支笔{p}元，{m}买了{n}支，付了{y}元。应找回多少元？".format(p=price, m=nm, n=n, y=pay),
                    "总价为{p} × {n} = {t}元，找零{y} - {t} = {c}元。".format(p=price, n=n, t=price * n, y=pay, c=ch))
        return ("A pen costs {p} dollars. {m} buys {n} pens and pays {y} dollars. How much change should {m} get?".format(p=price, m=nm, n=n, y=pay),
                "The total is {p} × {n} = {t} dollars, so the change is {y} - {t} = {c} dollars.".format(p=price, n=n, t=price * n, y=pay, c=ch))
    speed, hrs = rng.randint(40, 120), rng.randint(2, 6)
    if lang == "zh":
        return ("一辆汽车以每小时{s}公里的速度行驶了{h}小时，一共行驶了多少公里？".format(s=speed, h=hrs),
                "路程 = 速度 × 时间 = {s} × {h} = {x}公里。".format(s=speed, h=hrs, x=speed * hrs))
    return ("A car travels at {s} km per hour for {h} hours. How far does it go?".format(s=speed, h=hrs),
            "Distance = speed × time = {s} × {h} = {x} km.".format(s=speed, h=hrs, x=speed * hrs))


def make_general_instructions(rng):
    rows = []
    facts = [(e, f) for e in GENERAL for f in e["facts"]]
    for i in range(N_GENERAL_INSTR):
        lang = "zh" if i % 2 == 0 else "en"
        t = i % 7
        if t in (0, 1):
            q, a = _arith(rng, lang)
            rows.append({"instruction": q, "input": "", "output": a})
        elif t == 2:
            e, f = rng.choice(facts)
            if lang == "zh":
                rows.append({"instruction": rng.choice(["把下面的句子翻译成英文。", "请将以下中文翻译为英文："]), "input": f[0], "output": f[1]})
            else:
                rows.append({"instruction": rng.choice(["Translate the following sentence into Chinese.", "Translate into Simplified Chinese:"]),
                             "input": f[1], "output": f[0]})
        elif t == 3:
            e = rng.choice(GENERAL)
            n = L(e["name"], lang)
            fs = [L(f, lang) for f in rng.sample(e["facts"], 3)]
            q = rng.choice(["请简单介绍一下{n}。", "关于{n}，你知道哪些知识？"] if lang == "zh" else
                           ["Tell me a little about {n}.", "What do you know about {n}?"]).format(n=n)
            rows.append({"instruction": q, "input": "", "output": sp(lang).join([L(e["facts"][0], lang)] + [f for f in fs if f != L(e["facts"][0], lang)][:2])})
        elif t == 4:
            cat = rng.choice(sorted(GCAT))
            names = [L(e["name"], lang) for e in GENERAL if e["cat"] == cat]
            pick = rng.sample(names, 3)
            c = L(GCAT[cat], lang)
            if lang == "zh":
                rows.append({"instruction": "请列出三个与“{}”相关的话题。".format(c), "input": "",
                             "output": "\n".join("{}. {}".format(k + 1, p) for k, p in enumerate(pick))})
            else:
                rows.append({"instruction": "List three topics related to {}.".format(c), "input": "",
                             "output": "\n".join("{}. {}".format(k + 1, cap(p)) for k, p in enumerate(pick))})
        elif t == 5:
            nums = rng.sample(range(1, 100), rng.randint(5, 8))
            s = ", ".join(map(str, nums))
            if rng.random() < 0.5:
                q = "将下面的数字从小到大排列。" if lang == "zh" else "Sort these numbers in ascending order."
                out = ", ".join(map(str, sorted(nums)))
            else:
                q = "求下面这些数字的和。" if lang == "zh" else "Find the sum of these numbers."
                out = ("这些数字的和是{}。" if lang == "zh" else "The sum is {}.").format(sum(nums))
            rows.append({"instruction": q, "input": s, "output": out})
        else:
            e = rng.choice([x for x in GENERAL if x["cat"] in ("sci", "nature", "tech")])
            n = L(e["name"], lang)
            if lang == "zh":
                q = rng.choice(["用两三句话解释{n}。", "请向小学生解释{n}。"]).format(n=n)
            else:
                q = rng.choice(["Explain {n} in two or three sentences.", "Explain {n} to a ten-year-old."]).format(n=n)
            fs = [L(f, lang) for f in e["facts"][:3]]
            rows.append({"instruction": q, "input": "", "output": sp(lang).join(fs)})
    return rows


# ---------------------------------------------------------------------------
# Multiple-choice questions
# ---------------------------------------------------------------------------
GENERIC_SYM = {"乏力", "发热", "头痛", "恶心", "头晕", "疲乏", "低热", "咳嗽", "腹泻", "心悸", "水肿", "咳痰"}


def make_mcq(rng):
    rows = []
    kinds = ["drug", "sys", "cls", "sym", "dose", "test"]
    used = set()
    i = 0
    while len(rows) < N_MCQ:
        lang = "zh" if len(rows) % 2 == 0 else "en"
        kind = kinds[(len(rows) // 2) % len(kinds)]
        d = rng.choice(DISEASES)
        n = L(d["name"], lang)
        if kind == "drug":
            if not d["drugs"]:
                continue
            dr = rng.choice(d["drugs"])
            bad = [x for x in DRUGS.values()
                   if all(u["syskey"] != d["syskey"] for u in DISEASES if x in u["drugs"]) and x not in d["drugs"]
                   and any(x in u["drugs"] for u in DISEASES)]
            correct = L(dr["name"], lang)
            dis = [L(x["name"], lang) for x in rng.sample(bad, 3)]
            q = ("下列哪种药物常用于治疗{}？" if lang == "zh" else "Which of the following drugs is commonly used to treat {}?").format(n)
            ex = ("{}属于{}，用于{}。".format(correct, L(dr["cls"], lang), L(dr["ind"], lang)) if lang == "zh" else
                  "{} is {} used for {}.".format(cap(correct), L(dr["cls"], lang), L(dr["ind"], lang)))
            key = ("drug", dr["key"], d["name"][1])
        elif kind == "sys":
            correct = L(d["sys"], lang)
            others = [v for k, v in SYS.items() if k != d["syskey"] and k not in ("blood",)]
            dis = [L(x, lang) for x in rng.sample(others, 3)]
            q = ("{}属于哪个系统的疾病？" if lang == "zh" else "{} is a disease of which body system?").format(n if lang == "zh" else cap(n))
            ex = ("{}是{}，属于{}疾病。".format(n, L(d["defn"], lang), correct) if lang == "zh" else
                  "{} is {}; it is classed under the {}.".format(cap(n), L(d["defn"], lang), correct))
            key = ("sys", d["name"][1])
        elif kind == "cls":
            dr = DRUGS[rng.choice(sorted(DRUGS))]
            correct = L(dr["cls"], lang)
            pool = sorted({L(x["cls"], lang) for x in DRUGS.values()} - {correct})
            dis = rng.sample(pool, 3)
            dn = L(dr["name"], lang)
            q = ("{}属于哪一类药物？" if lang == "zh" else "Which class does {} belong to?").format(dn)
            ex = ("{}是{}，其作用机制为{}。".format(dn, correct, L(dr["mech"], lang)) if lang == "zh" else
                  "{} is {}; it works by {}.".format(cap(dn), correct, L(dr["mech"], lang)))
            key = ("cls", dr["key"])
        elif kind == "sym":
            if "症状" in d["sym"][0][0]:
                continue
            own = {L(x, lang) for x in d["sym"]}
            correct = L(d["sym"][0], lang)
            pool = []
            for o in DISEASES:
                if o["syskey"] == d["syskey"]:
                    continue
                c = L(o["sym"][0], lang)
                if c not in own and o["sym"][0][0] not in GENERIC_SYM and c not in pool and "症状" not in o["sym"][0][0]:
                    pool.append(c)
            dis = rng.sample(pool, 3)
            q = ("以下哪项是{}的典型症状？" if lang == "zh" else "Which of the following is a typical symptom of {}?").format(n)
            ex = ("{}的典型症状包括{}。".format(n, join([L(x, lang) for x in d["sym"]], lang)) if lang == "zh" else
                  "Typical symptoms of {} include {}.".format(n, join([L(x, lang) for x in d["sym"]], lang)))
            key = ("sym", d["name"][1])
        elif kind == "dose":
            dr = DRUGS[rng.choice(sorted(DRUGS))]
            correct = L(dr["dose"], lang)
            pool = [L(x["dose"], lang) for x in DRUGS.values() if x is not dr]
            dis = rng.sample(pool, 3)
            dn = L(dr["name"], lang)
            q = ("{}的成人常用剂量是？" if lang == "zh" else "What is the usual adult dose of {}?").format(dn)
            ex = ("{}（{}）的成人常用剂量为{}。".format(dn, L(dr["cls"], lang), correct) if lang == "zh" else
                  "The usual adult dose of {} ({}) is {}.".format(dn, L(dr["cls"], lang), correct))
            key = ("dose", dr["key"])
        else:
            correct = L(d["test"][0], lang)
            own = {L(x, lang) for x in d["test"]}
            pool = []
            for o in DISEASES:
                if o["syskey"] == d["syskey"]:
                    continue
                c = L(o["test"][0], lang)
                if c not in own and c not in pool:
                    pool.append(c)
            dis = rng.sample(pool, 3)
            q = ("诊断{}时常用以下哪项检查？" if lang == "zh" else "Which test is commonly used in diagnosing {}?").format(n)
            ex = ("诊断{}常用的检查包括{}。".format(n, join([L(x, lang) for x in d["test"]], lang)) if lang == "zh" else
                  "Tests used to diagnose {} include {}.".format(n, join([L(x, lang) for x in d["test"]], lang)))
            key = ("test", d["name"][1])
        if key + (lang,) in used:
            continue
        used.add(key + (lang,))
        ans = "ABCD"[len(rows) % 4 if len(rows) % 3 else (len(rows) // 3) % 4]
        opts = dis[:]
        rng.shuffle(opts)
        opts.insert("ABCD".index(ans), correct)
        rows.append({"id": "mcq-{:03d}".format(len(rows) + 1), "question": q, "A": opts[0], "B": opts[1],
                     "C": opts[2], "D": opts[3], "answer": ans, "explanation": ex})
        i += 1
    return rows


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------
WINDOW = 200


def _windows(text):
    return {text[i:i + WINDOW] for i in range(0, max(0, len(text) - WINDOW) + 1)}


def _overlaps(text, wins, seen):
    if text in seen:
        return True
    for i in range(0, max(0, len(text) - WINDOW) + 1):
        if text[i:i + WINDOW] in wins:
            return True
    return False


def _nbytes(rows):
    return sum(len((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8")) for r in rows)


def build_domain(rng):
    R = Renderer(rng)
    rows, seen, total = [], set(), 0
    counters = {"zh": 0, "en": 0}
    while total < DOMAIN_BYTES:
        lang = "zh" if rng.random() < 0.55 else "en"
        text = domain_doc(R, lang)
        if text in seen:
            continue
        seen.add(text)
        counters[lang] += 1
        row = {"id": "med-{}-{:04d}".format(lang, counters[lang]), "text": text, "source": "medical-" + lang}
        rows.append(row)
        total += _nbytes([row])
    return rows


def build_general(rng):
    rows, seen, total = [], set(), 0
    counters = {"zh": 0, "en": 0}
    while total < GENERAL_BYTES:
        lang, text = general_doc(rng)
        if text in seen:
            continue
        seen.add(text)
        counters[lang] += 1
        row = {"id": "gen-{}-{:04d}".format(lang, counters[lang]), "text": text, "source": "general-" + lang}
        rows.append(row)
        total += _nbytes([row])
    return rows


def build_heldout(rng, train_rows, n, make, prefix, src):
    wins, seen = set(), set()
    for r in train_rows:
        seen.add(r["text"])
        wins |= _windows(r["text"])
    rows, got = [], set()
    counters = {"zh": 0, "en": 0}
    tries = 0
    while len(rows) < n:
        tries += 1
        lang = "zh" if len(rows) % 20 < 11 else "en"
        text = make(lang)
        if text in got or _overlaps(text, wins, seen):
            continue
        got.add(text)
        counters[lang] += 1
        rows.append({"id": "{}-{}-{:03d}".format(prefix, lang, counters[lang]), "text": text, "source": src + lang})
    return rows, tries


def write_jsonl(name, rows):
    path = os.path.join(OUT_DIR, name)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return os.path.getsize(path)


README_HEAD = """# domaintune sample data

Small bundled data set for trying out domaintune end to end: continued
pre-training (CPT) on a **medical** domain corpus, then supervised fine-tuning
(SFT), then evaluation (held-out perplexity and multiple-choice questions).
Text is Simplified Chinese and English.

> **Disclaimer:** this is synthetic sample data generated from hand-written
> fact tables and sentence templates. It is meant only for testing software.
> It is **not medical advice** and must not be used for diagnosis or
> treatment; doses and facts are simplified textbook-level statements and may
> be incomplete.

Regenerate (deterministic, stdlib only, `random.Random(0)`):

```
python scripts/make_sample_data.py
```

## Files

All files are JSON Lines, UTF-8, one object per line.

| file | rows | size (bytes) | content |
|---|---:|---:|---|
"""

DESCRIPTIONS = {
    "domain_corpus_zh.jsonl": "CPT domain corpus, Chinese, `{id, text, source}`, source `medical-zh` (encyclopedia, textbook, patient leaflet, FAQ, drug monograph, clinical case, comparison styles)",
    "domain_corpus_en.jsonl": "CPT domain corpus, English, same styles, source `medical-en`",
    "general_corpus.jsonl": "general (non-medical) corpus, `{id, text, source}`, source `general-zh` / `general-en` (geography, cooking, history, everyday science, sport, technology, travel, nature)",
    "heldout_domain.jsonl": "held-out medical documents for perplexity; new renderings (reserved templates, new combinations), no 200-character overlap with the training corpus",
    "heldout_general.jsonl": "held-out general documents, same guarantees as above",
    "sft_domain_alpaca.jsonl": "medical SFT rows, alpaca format `{instruction, input, output}`, some with `system` and `history`",
    "sft_domain_sharegpt.jsonl": "medical multi-turn SFT, sharegpt format `{conversations: [{from, value}, ...]}` with 2-3 human/gpt turns",
    "general_instructions.jsonl": "general instruction rows (alpaca): arithmetic word problems, zh<->en translation, knowledge Q&A, lists, sorting/sums, short explanations",
    "mcq_domain.jsonl": "C-Eval style multiple-choice questions `{id, question, A, B, C, D, answer, explanation}`, half Chinese, half English",
}

README_TAIL = """
## Facts covered

{nd} diseases/conditions (zh + en names, body system, who is affected,
symptoms, causes/risk factors, tests, treatment, drugs, complications,
prevention) and {nr} drugs (class, indication, mechanism, typical adult dose,
side effects, contraindications), plus {ng} general-knowledge topics.

The last template of every template list is reserved for held-out documents,
so held-out text is always a fresh rendering; the generator also rejects any
held-out document that equals a training document or shares a
{w}-character substring with the training corpus.

## Licence

Written for the domaintune project; released under CC0 1.0 / public domain.
"""


def main():
    rng = random.Random(0)
    os.makedirs(OUT_DIR, exist_ok=True)
    domain = build_domain(rng)
    general = build_general(rng)
    hd, td = build_heldout(rng, domain, N_HELDOUT_DOMAIN,
                           lambda lang, R=Renderer(rng, heldout=True): domain_doc(R, lang), "med-heldout", "medical-")

    def _gen(lang):
        while True:
            lg, text = general_doc(rng, heldout=True)
            if lg == lang:
                return text
    hg, tg = build_heldout(rng, general, N_HELDOUT_GENERAL, _gen, "gen-heldout", "general-")
    files = [
        # Split by language: each file stays under 1 MiB, and a recipe can weigh them separately.
        ("domain_corpus_zh.jsonl", [r for r in domain if r["source"] == "medical-zh"]),
        ("domain_corpus_en.jsonl", [r for r in domain if r["source"] == "medical-en"]),
        ("general_corpus.jsonl", general),
        ("heldout_domain.jsonl", hd),
        ("heldout_general.jsonl", hg),
        ("sft_domain_alpaca.jsonl", make_alpaca(rng)),
        ("sft_domain_sharegpt.jsonl", make_sharegpt(rng)),
        ("general_instructions.jsonl", make_general_instructions(rng)),
        ("mcq_domain.jsonl", make_mcq(rng)),
    ]
    table = []
    total = 0
    for name, rows in files:
        size = write_jsonl(name, rows)
        total += size
        table.append((name, len(rows), size))
        print("{:<28} {:>6} rows {:>10,} bytes".format(name, len(rows), size))
    zh = sum(1 for r in domain if r["source"] == "medical-zh")
    print("domain corpus: {} zh / {} en documents".format(zh, len(domain) - zh))
    print("held-out attempts: domain {}, general {}".format(td, tg))
    readme = README_HEAD
    for name, n, size in table:
        readme += "| `{}` | {} | {:,} | {} |\n".format(name, n, size, DESCRIPTIONS[name])
    readme += "\nDomain corpus: {} Chinese and {} English documents.\n".format(zh, len(domain) - zh)
    readme += README_TAIL.format(nd=len(DISEASES), nr=len(DRUGS), ng=len(GENERAL), w=WINDOW)
    with open(os.path.join(OUT_DIR, "README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(readme)
    total += os.path.getsize(os.path.join(OUT_DIR, "README.md"))
    print("total {:,} bytes".format(total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
