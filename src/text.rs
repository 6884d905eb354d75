//! Text decoding shared by every format: encoding detection (BOM, UTF-16 NUL pattern, UTF-8
//! validity, ANSI / OEM / Shift-JIS statistics), streaming decoding, and line splitting where
//! CR, LF and CRLF all end a line and line numbers are 1-based physical lines.

use std::io::{self, Read};

use encoding_rs::{
    Decoder, Encoding, BIG5, EUC_KR, GBK, SHIFT_JIS, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252,
};
use serde::Serialize;

use crate::diag::Diagnostic;

/// A detected text encoding, named as the JSON contract names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TextEncoding {
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "utf-8-bom")]
    Utf8Bom,
    #[serde(rename = "utf-16le")]
    Utf16Le,
    #[serde(rename = "utf-16be")]
    Utf16Be,
    /// UTF-16LE recognised from its NUL pattern (regedit refuses these).
    #[serde(rename = "utf-16le-nobom")]
    Utf16LeNoBom,
    #[serde(rename = "utf-16be-nobom")]
    Utf16BeNoBom,
    #[serde(rename = "windows-1252")]
    Windows1252,
    #[serde(rename = "cp850")]
    Cp850,
    #[serde(rename = "cp437")]
    Cp437,
    #[serde(rename = "shift_jis")]
    ShiftJis,
    /// Simplified Chinese console output (code page 936).
    #[serde(rename = "gbk")]
    Gbk,
    /// Traditional Chinese console output (code page 950).
    #[serde(rename = "big5")]
    Big5,
    /// Russian console output (OEM code page 866).
    #[serde(rename = "cp866")]
    Cp866,
    /// Korean console output (code page 949: EUC-KR and its Unified Hangul extension).
    #[serde(rename = "cp949")]
    Cp949,
    /// Central European console output (OEM code page 852: Czech, Hungarian, Polish, ...).
    #[serde(rename = "cp852")]
    Cp852,
    /// Turkish console output (OEM code page 857).
    #[serde(rename = "cp857")]
    Cp857,
}

impl TextEncoding {
    /// The contract's name of the encoding.
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Utf8Bom => "utf-8-bom",
            TextEncoding::Utf16Le => "utf-16le",
            TextEncoding::Utf16Be => "utf-16be",
            TextEncoding::Utf16LeNoBom => "utf-16le-nobom",
            TextEncoding::Utf16BeNoBom => "utf-16be-nobom",
            TextEncoding::Windows1252 => "windows-1252",
            TextEncoding::Cp850 => "cp850",
            TextEncoding::Cp437 => "cp437",
            TextEncoding::ShiftJis => "shift_jis",
            TextEncoding::Gbk => "gbk",
            TextEncoding::Big5 => "big5",
            TextEncoding::Cp866 => "cp866",
            TextEncoding::Cp949 => "cp949",
            TextEncoding::Cp852 => "cp852",
            TextEncoding::Cp857 => "cp857",
        }
    }

    /// Length of the byte-order mark this encoding starts with (0 when none).
    pub fn bom_len(self) -> usize {
        match self {
            TextEncoding::Utf8Bom => 3,
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => 2,
            _ => 0,
        }
    }

    /// True for the UTF-16 family (with or without BOM).
    pub fn is_utf16(self) -> bool {
        matches!(
            self,
            TextEncoding::Utf16Le
                | TextEncoding::Utf16Be
                | TextEncoding::Utf16LeNoBom
                | TextEncoding::Utf16BeNoBom
        )
    }

    /// True for single- or double-byte legacy code pages (not Unicode).
    pub fn is_legacy(self) -> bool {
        matches!(
            self,
            TextEncoding::Windows1252
                | TextEncoding::Cp850
                | TextEncoding::Cp437
                | TextEncoding::ShiftJis
                | TextEncoding::Gbk
                | TextEncoding::Big5
                | TextEncoding::Cp866
                | TextEncoding::Cp949
                | TextEncoding::Cp852
                | TextEncoding::Cp857
        )
    }
}

/// What to assume for 8-bit text that is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyHint {
    /// The machine's ANSI code page (regedit's REGEDIT4 files): Windows-1252.
    Ansi,
    /// Console output redirected by cmd: an OEM code page, guessed from byte statistics.
    Guess,
}

/// Detects the encoding from the first bytes of a file (`eof` says whether `prefix` is all of it).
pub fn sniff(prefix: &[u8], eof: bool, hint: LegacyHint) -> TextEncoding {
    if prefix.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return TextEncoding::Utf8Bom;
    }
    if prefix.starts_with(&[0xFF, 0xFE]) {
        return TextEncoding::Utf16Le;
    }
    if prefix.starts_with(&[0xFE, 0xFF]) {
        return TextEncoding::Utf16Be;
    }
    if let Some(enc) = sniff_utf16_without_bom(prefix) {
        return enc;
    }
    if is_utf8_prefix(prefix, eof) {
        return TextEncoding::Utf8;
    }
    match hint {
        LegacyHint::Ansi => TextEncoding::Windows1252,
        LegacyHint::Guess => guess_legacy(prefix),
    }
}

/// UTF-16 without BOM: ASCII-heavy text has a NUL in every other byte.
#[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
fn sniff_utf16_without_bom(prefix: &[u8]) -> Option<TextEncoding> {
    let sample = &prefix[..prefix.len().min(4096)];
    let pairs = sample.len() / 2;
    // Without a single NUL neither position can count any (the usual case: one SIMD scan).
    if pairs < 2 || memchr::memchr(0, sample).is_none() {
        return None;
    }
    let (mut even_zero, mut odd_zero) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        if pair[0] == 0 {
            even_zero += 1;
        }
        if pair[1] == 0 {
            odd_zero += 1;
        }
    }
    // A NUL flood (both positions zero) is not text of either kind.
    if odd_zero * 10 >= pairs * 4 && even_zero * 10 < pairs {
        Some(TextEncoding::Utf16LeNoBom)
    } else if even_zero * 10 >= pairs * 4 && odd_zero * 10 < pairs {
        Some(TextEncoding::Utf16BeNoBom)
    } else {
        None
    }
}

/// Valid UTF-8, allowing a multi-byte sequence cut by the end of a non-final prefix.
fn is_utf8_prefix(prefix: &[u8], eof: bool) -> bool {
    match std::str::from_utf8(prefix) {
        Ok(_) => true,
        Err(e) => !eof && e.error_len().is_none() && prefix.len() - e.valid_up_to() < 4,
    }
}

/// Chooses between Shift-JIS, the OEM pages and Windows-1252 by how plausible the decoded
/// non-ASCII characters are (letters score, box drawing and C1 controls cost).
#[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
fn guess_legacy(prefix: &[u8]) -> TextEncoding {
    let sample = &prefix[..prefix.len().min(64 * 1024)];
    // Before Shift-JIS: Korean syllable bytes (0xB0-0xC8) are half-width katakana there.
    if looks_korean(sample) {
        return TextEncoding::Cp949;
    }
    let (sjis, _, sjis_errors) = SHIFT_JIS.decode(sample);
    if !sjis_errors {
        // Japanese text always has kana; Latin OEM bytes paired by chance decode as kanji or
        // symbols (CP850 "ü" + "n" = 0x81 0x6E), so kana are required, and the Japanese
        // characters must account for (nearly) every high byte.
        let kana = sjis
            .chars()
            .filter(|c| matches!(*c as u32, 0x3040..=0x30FF | 0xFF66..=0xFF9D))
            .count();
        let japanese = sjis
            .chars()
            .filter(|c| matches!(*c as u32, 0x3000..=0x30FF | 0x4E00..=0x9FFF | 0xFF00..=0xFFEF))
            .count();
        let high = sample.iter().filter(|b| **b >= 0x80).count();
        if kana > 0 && japanese * 2 >= high {
            return TextEncoding::ShiftJis;
        }
    }
    if let Some(chinese) = guess_chinese(sample) {
        return chinese;
    }
    if looks_cyrillic_cp866(sample) {
        return TextEncoding::Cp866;
    }
    let score_oem = |table: &[char; 128]| -> i64 {
        score_text(sample.iter().map(|b| {
            if *b < 0x80 {
                char::from(*b)
            } else {
                table[usize::from(*b - 0x80)]
            }
        }))
    };
    let ansi = score_text(WINDOWS_1252.decode_without_bom_handling(sample).0.chars());
    let cp850 = score_oem(&oem_cp::code_table::DECODING_TABLE_CP850);
    let cp437 = score_oem(&oem_cp::code_table::DECODING_TABLE_CP437);
    // The Central European and Turkish pages share most of CP850's Western letters: they
    // only win with letters of their own (ł, ř, ő, ğ, ı, ...) that CP850 decodes as symbols
    // or as capitals inside words, so Western text keeps CP850.
    let latin2 = score_oem_with(
        sample,
        &oem_cp::code_table::DECODING_TABLE_CP852,
        CENTRAL_EUROPEAN_LETTERS,
    );
    let turkish = score_oem_with(sample, &CP857, TURKISH_LETTERS);
    // Console captures come from cmd's OEM page: OEM wins ties against ANSI, CP850 ties
    // against the other pages.
    let mut best = (cp850, TextEncoding::Cp850);
    for (score, enc) in [
        (latin2, TextEncoding::Cp852),
        (turkish, TextEncoding::Cp857),
        (cp437, TextEncoding::Cp437),
        (ansi, TextEncoding::Windows1252),
    ] {
        if score > best.0 {
            best = (score, enc);
        }
    }
    best.1
}

/// The plausibility of an OEM decoding whose languages use `extra` letters besides the
/// Western ones (no allocation: the table is applied byte by byte).
#[allow(clippy::indexing_slicing)] // in bounds by construction (128-entry table, b >= 0x80)
fn score_oem_with(sample: &[u8], table: &[char; 128], extra: &str) -> i64 {
    score_text_with(
        sample.iter().map(|b| {
            if *b < 0x80 {
                char::from(*b)
            } else {
                table[usize::from(*b - 0x80)]
            }
        }),
        extra,
    )
}

/// Letters of the languages of OEM code page 852 (Czech, Hungarian, Polish, Slovak,
/// Slovenian, Croatian, Romanian) that CP850 lacks.
const CENTRAL_EUROPEAN_LETTERS: &str = "ąćęłńśźżĄĆĘŁŃŚŹŻčďěňřšťůýžČĎĚŇŘŠŤŮÝŽőűŐŰĺľŕĹĽŔăĂşŞţŢđĐ";

/// Letters of Turkish that OEM code page 857 adds to the Western ones.
const TURKISH_LETTERS: &str = "ıİğĞşŞ";

/// OEM code page 857 (Turkish), bytes 0x80-0xFF. Source: the Unicode Consortium's mapping
/// file MAPPINGS/VENDORS/MICSFT/PC/CP857.TXT (unicode.org/Public); bytes 0xD5, 0xE7 and 0xF2
/// are undefined there and decode to U+FFFD (reported as invalid). Checked against the
/// `oem_cp` crate's table in the tests. (CP852 comes complete from `oem_cp`, whose table
/// matches MAPPINGS/VENDORS/MICSFT/PC/CP852.TXT.)
#[rustfmt::skip]
static CP857: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ı', 'Ä', 'Å',
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'İ', 'Ö', 'Ü', 'ø', '£', 'Ø', 'Ş', 'ş',
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'Ğ', 'ğ', '¿', '®', '¬', '½', '¼', '¡', '«', '»',
    '░', '▒', '▓', '│', '┤', 'Á', 'Â', 'À', '©', '╣', '║', '╗', '╝', '¢', '¥', '┐',
    '└', '┴', '┬', '├', '─', '┼', 'ã', 'Ã', '╚', '╔', '╩', '╦', '╠', '═', '╬', '¤',
    'º', 'ª', 'Ê', 'Ë', 'È', '\u{fffd}', 'Í', 'Î', 'Ï', '┘', '┌', '█', '▄', '¦', 'Ì', '▀',
    'Ó', 'ß', 'Ô', 'Ò', 'õ', 'Õ', 'µ', '\u{fffd}', '×', 'Ú', 'Û', 'Ù', 'ì', 'ÿ', '¯', '´',
    '\u{ad}', '±', '\u{fffd}', '¾', '¶', '§', '÷', '¸', '°', '¨', '·', '¹', '³', '²', '■', '\u{a0}',
];

/// Frequent Hangul syllables (general text and Windows console messages: netsh, reg).
const COMMON_HANGUL: &str = "이다는의에을를가고하지서기사로한도정자대시리수어나아스인부일전해있요게제상보구적성주소것들면국우장문위관동비여원선생드만연트라무그내회신경미세용모화공개방중저실명발마진유계안분간결과음재통설물데합할후월반학없영교식단호당행업되었습니다않액프록버직접현치작값키레오류찾된컴퓨터네워크컬템완료거권목니까때말며및또더파폴운체조차초최추출취측카타테토투특판패표품피필함했향허험형확환활황효히력련령례론률르른름립매메명몇본불빠삭산살새색석섭속손송순술승쓰씨암약양언엔역열예옵와외웹윈응입잘잠절점종좋준즈증질집참창책처청켜큰클탭택텍편포핑항헤호홈휴흐힘백변경삽름루트뢰";

/// How many bytes at the end of `b` are high (>= 0x80).
fn trailing_high_run(b: &[u8]) -> usize {
    b.iter().rev().take_while(|x| **x >= 0x80).count()
}

/// Korean text from cmd (code page 949): the high bytes pair up as KS X 1001 Hangul
/// syllables (lead 0xB0-0xC8, trail 0xA1-0xFE, which Latin OEM text almost never forms),
/// and those syllables are mostly frequent ones (Chinese GBK text, whose pairs fall in the
/// same range, decodes to rare syllables and Hanja).
fn looks_korean(sample: &[u8]) -> bool {
    let (mut high, mut hangul_pairs) = (0usize, 0usize);
    // A prefix cut inside a character: its last lead byte is left out.
    let sample = match sample.split_last() {
        Some((last, rest)) if *last >= 0x80 && trailing_high_run(rest).is_multiple_of(2) => rest,
        _ => sample,
    };
    let mut i = 0;
    while let Some(&b) = sample.get(i) {
        if b < 0x80 {
            i += 1;
            continue;
        }
        match sample.get(i + 1) {
            Some(&t) if (0xB0..=0xC8).contains(&b) && (0xA1..=0xFE).contains(&t) => {
                hangul_pairs += 1;
                high += 2;
                i += 2;
            }
            _ => {
                high += 1;
                i += 1;
            }
        }
    }
    if hangul_pairs < 2 || hangul_pairs * 2 * 10 < high * 8 {
        return false;
    }
    let (text, errors) = EUC_KR.decode_without_bom_handling(sample);
    if errors {
        return false;
    }
    let (mut syllables, mut frequent) = (0usize, 0usize);
    for c in text
        .chars()
        .filter(|c| ('\u{AC00}'..='\u{D7A3}').contains(c))
    {
        syllables += 1;
        if COMMON_HANGUL.contains(c) {
            frequent += 1;
        }
    }
    syllables >= 2 && frequent * 10 >= syllables * 6
}

/// Frequent Simplified Chinese characters (general text and Windows console messages).
const COMMON_SIMPLIFIED: &str = "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵杯硬剂倒访设置代理服务器绕过列表当前直接没有错误拒绝写入时出";

/// Frequent Traditional Chinese characters (general text and Windows console messages).
const COMMON_TRADITIONAL: &str = "的一是不了在人有我他這個們中來上大為和國地到以說時要就出會可也你對生能而子那得於著下自之年過發後作裡用道行所然家種事成方多經麼去法學如都同現當沒動面起看定天分還進好小部其些主樣理心她本前開但因只從想實日軍者意無力它與長把機十民第公此已工使情明性知全三又關點正業外將兩高間由問很最重並物手應戰向頭文體政美相見被利什二等產或新己制身果加西斯月話合回特代內信表化老給世位次度門任常先海通教兒原東聲提立及比員解水名真論處走義各入幾口認條平系氣題活爾更別打女變四神總何電數安少報才結反受目太量再感建務做接必場件計管期市直德資命山金指克許統區保至隊形社便空決治展馬科司五基眼書非則聽白卻界達光放強即像難且權思王象完設式色路記南品住告類求據程北邊死張該交規萬取拉格望覺術領共確傳師觀清今切院讓識候帶導爭運笑飛風步改收根乾造言聯持組每濟車親極林服快辦議往元英士證近失轉夫令準布始怎呢存未遠叫台單影具羅字愛擊流備兵連調深商算質團集百需價花黨華城石級整府離況亞請技際約示復病息究線似官火斷精滿支視消越器容照須九增研寫稱企八功嗎包片史委乎查輕易早曾除農找裝廣顯吧阿李標談吃圖念六引歷首醫局突專費號盡另周較注語僅考落青隨選列武紅響雖推勢參希古眾構房半節土投某案黑維革劃敵致陳律足態護七興派孩驗責營星夠章音跟志底站嚴巴例防族供效續施留講型料終答緊黃絕奇察母京段依批群項故按河米圍江織害鬥雙境客紀採舉殺攻父蘇密低朝友訴止細願千值仍男錢破網熱助倒育屬坐帝限船臉職速刻樂否剛威毛狀率甚獨球般普怕彈校苦創假久錯承印晚蘭試股拿腦預誰益陽若哪微尼繼送急血驚傷素藥適波夜省初喜衛源食險待述陸習置居勞財環排福納歡雷警獲模充負雲停木遊龍樹疑層冷洲衝射略範竟句室異激漢村哈策演簡卡罪判擔州靜退既衣您宗積餘痛檢差富靈協角佔配徵修皮揮勝降階審沉堅善媽劉讀啊超免壓銀買皇養伊懷執副亂抗犯追幫宣佛歲航優怪香著田鐵控稅左右份穿藝背陣草腳概惡塊頓敢守酒島託央戶烈洋哥索胡款靠評版寶座釋景顧弟登貨互付伯慢歐換聞危忙核暗姐介壞討麗良序升監臨亮露永呼味野架域沙掉括艦魚雜誤灣吉減編楚肯測敗屋跑夢散溫困劍漸封救貴槍缺樓縣尚毫移娘朋畫班智亦耳恩短掌恐遺固席松祕謝魯遇康慮幸均銷鐘詩藏趕劇票損忽巨砲舊端探湖錄葉春鄉附吸予禮港雨呀板庭婦歸睛飯額含順輸搖招婚脫補謂督毒油療旅澤材滅逐莫筆亡鮮詞聖擇尋廠睡博勒煙授諾倫岸奧唐賣俄炸載洛健堂旁宮喝借君禁陰園謀宋避抓榮姑孫逃牙束跳頂玉鎮雪午練迫爺篇肉嘴館遍凡礎洞卷坦牛寧紙諸訓私莊祖絲翻暴森塔默握戲隱熟骨訪弱蒙歌店鬼軟典欲薩夥遭盤爸擴蓋弄雄穩忘億刺擁徒姆楊齊賽趣曲刀床迎冰虛玩析窗醒妻透購替塞努休虎揚途侵刑綠兄迅套貿畢唯谷輪庫跡尤競街促延震棄甲偉麻川申緩潛閃售燈針哲絡抵朱埃抱鼓植純夏忍頁傑築折鄭貝尊吳秀混臣雅振染盛怒舞圓搞狂措姓殘秋培迷誠寬宇猛擺梅毀伸摩盟末乃悲拍丁趙杯硬劑存取伺服器略過清單目前直接沒有錯誤拒絕寫入時";

/// GBK (cp936) or Big5 (cp950) when the high bytes decode, without errors, to Chinese
/// characters that are mostly among the frequent ones of that script. Latin OEM text (whose
/// byte pairs are valid GBK too) decodes to rare characters and is left alone.
fn guess_chinese(sample: &[u8]) -> Option<TextEncoding> {
    let high = sample.iter().filter(|b| **b >= 0x80).count();
    if high < 4 {
        return None;
    }
    let score = |enc: &'static Encoding, common: &str| -> Option<(usize, usize)> {
        let (text, _, errors) = enc.decode(sample);
        if errors {
            return None;
        }
        let (mut han, mut frequent) = (0usize, 0usize);
        for c in text
            .chars()
            .filter(|c| matches!(*c as u32, 0x4E00..=0x9FFF))
        {
            han += 1;
            if common.contains(c) {
                frequent += 1;
            }
        }
        Some((han, frequent))
    };
    let plausible = |(han, frequent): (usize, usize)| {
        han >= 2 && frequent * 10 >= han * 6 && han * 2 * 2 >= high
    };
    let gbk = score(GBK, COMMON_SIMPLIFIED).filter(|s| plausible(*s));
    let big5 = score(BIG5, COMMON_TRADITIONAL).filter(|s| plausible(*s));
    match (gbk, big5) {
        (Some(g), Some(b)) => {
            // Compare the share of frequent characters, not raw counts.
            if g.1 * b.0 >= b.1 * g.0 {
                Some(TextEncoding::Gbk)
            } else {
                Some(TextEncoding::Big5)
            }
        }
        (Some(_), None) => Some(TextEncoding::Gbk),
        (None, Some(_)) => Some(TextEncoding::Big5),
        (None, None) => None,
    }
}

/// Russian text from cmd (CP866): whole words of high bytes (Western text has single accented
/// letters between ASCII ones), decoding to Cyrillic letters that are mostly lowercase.
fn looks_cyrillic_cp866(sample: &[u8]) -> bool {
    let high = sample.iter().filter(|b| **b >= 0x80).count();
    if high < 8 {
        return false;
    }
    let in_runs = sample
        .windows(2)
        .filter(|w| w.iter().all(|b| *b >= 0x80))
        .count();
    if in_runs * 10 < high * 6 {
        return false;
    }
    let table = &oem_cp::code_table::DECODING_TABLE_CP866;
    let (mut lower, mut cyrillic) = (0usize, 0usize);
    for b in sample.iter().filter(|b| **b >= 0x80) {
        let Some(&c) = table.get(usize::from(*b - 0x80)) else {
            continue;
        };
        if ('\u{0400}'..='\u{04FF}').contains(&c) {
            cyrillic += 1;
            if c.is_lowercase() {
                lower += 1;
            }
        }
    }
    cyrillic * 10 >= high * 9 && lower * 2 >= cyrillic
}

/// Letters of the Western European languages customers write in (and reg.exe prints).
const COMMON_LETTERS: &str = "àáâäãåæçèéêëìíîïñòóôöõøùúûüÿßœÀÁÂÄÃÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÖÕØÙÚÛÜŒ";

/// Plausibility of the non-ASCII characters of a decoding: common accented letters score,
/// rare letters a little, capitals in the middle of a lowercase word nothing, box drawing
/// and C1 controls cost.
fn score_text(chars: impl Iterator<Item = char>) -> i64 {
    score_text_with(chars, "")
}

/// [`score_text`] with `extra` letters counted as common too.
fn score_text_with(chars: impl Iterator<Item = char>, extra: &str) -> i64 {
    let mut prev = ' ';
    let mut total = 0;
    for c in chars {
        if !c.is_ascii() {
            let mid_word_capital = c.is_uppercase() && prev.is_lowercase();
            total += if c.is_alphabetic() {
                if mid_word_capital {
                    0
                } else if COMMON_LETTERS.contains(c) || extra.contains(c) {
                    3
                } else {
                    1
                }
            } else {
                char_score(c)
            };
        }
        prev = c;
    }
    total
}

fn char_score(c: char) -> i64 {
    if matches!(
        c,
        '’' | '‘' | '“' | '”' | '–' | '—' | '…' | '€' | '°' | '«' | '»'
    ) {
        1
    } else if ('\u{80}'..='\u{9F}').contains(&c) || ('\u{2500}'..='\u{25FF}').contains(&c) {
        -3
    } else {
        -1
    }
}

/// The decoder for one encoding; OEM pages use the `oem_cp` tables.
enum Dec {
    Rs(Decoder),
    Oem(&'static [char; 128]),
}

impl Dec {
    fn new(enc: TextEncoding) -> Dec {
        let rs = |e: &'static Encoding| Dec::Rs(e.new_decoder_without_bom_handling());
        match enc {
            TextEncoding::Utf8 | TextEncoding::Utf8Bom => rs(UTF_8),
            TextEncoding::Utf16Le | TextEncoding::Utf16LeNoBom => rs(UTF_16LE),
            TextEncoding::Utf16Be | TextEncoding::Utf16BeNoBom => rs(UTF_16BE),
            TextEncoding::Windows1252 => rs(WINDOWS_1252),
            TextEncoding::ShiftJis => rs(SHIFT_JIS),
            TextEncoding::Gbk => rs(GBK),
            TextEncoding::Big5 => rs(BIG5),
            TextEncoding::Cp850 => Dec::Oem(&oem_cp::code_table::DECODING_TABLE_CP850),
            TextEncoding::Cp437 => Dec::Oem(&oem_cp::code_table::DECODING_TABLE_CP437),
            TextEncoding::Cp866 => Dec::Oem(&oem_cp::code_table::DECODING_TABLE_CP866),
            // encoding_rs's EUC-KR is the WHATWG one: Windows code page 949 (Unified Hangul).
            TextEncoding::Cp949 => rs(EUC_KR),
            TextEncoding::Cp852 => Dec::Oem(&oem_cp::code_table::DECODING_TABLE_CP852),
            TextEncoding::Cp857 => Dec::Oem(&CP857),
        }
    }

    /// Decodes `src` onto the end of `dst`; returns whether any sequence was replaced.
    #[allow(clippy::indexing_slicing)] // in bounds by construction (fixed tables, chunks_exact, lengths checked above)
    fn decode(&mut self, src: &[u8], dst: &mut String, last: bool) -> bool {
        match self {
            Dec::Rs(d) => {
                let mut errors = false;
                let mut src = src;
                loop {
                    let need = d
                        .max_utf8_buffer_length(src.len())
                        .unwrap_or(src.len() * 3 + 16);
                    dst.reserve(need);
                    let (result, read, had_errors) = d.decode_to_string(src, dst, last);
                    errors |= had_errors;
                    src = src.get(read..).unwrap_or(&[]);
                    if result == encoding_rs::CoderResult::InputEmpty {
                        break;
                    }
                }
                errors
            }
            Dec::Oem(table) => {
                dst.reserve(src.len());
                let mut errors = false;
                for &b in src {
                    if b < 0x80 {
                        dst.push(char::from(b));
                    } else {
                        // Bytes a page leaves undefined are U+FFFD in its table.
                        let c = table[usize::from(b - 0x80)];
                        errors |= c == '\u{FFFD}';
                        dst.push(c);
                    }
                }
                errors
            }
        }
    }
}

/// One physical line borrowed from a [`TextReader`].
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// 1-based physical line number.
    pub number: u64,
    /// The line without its terminator (cut to the reader's line cap when `truncated`).
    pub text: &'a str,
    /// True when the line was longer than the cap and its tail was dropped.
    pub truncated: bool,
}

/// Default longest line kept in memory (longer lines are cut and flagged).
pub const DEFAULT_MAX_LINE: usize = 16 * 1024 * 1024;
const CHUNK: usize = 256 * 1024;

/// Streaming decoder and line splitter over any reader, in bounded memory.
pub struct TextReader<R> {
    inner: R,
    encoding: TextEncoding,
    dec: Dec,
    raw: Vec<u8>,
    buf: String,
    pos: usize,
    eof: bool,
    line_no: u64,
    max_line: usize,
    skipping: bool,
    bytes_read: u64,
    invalid_reported: u32,
    pending_invalid: bool,
    diagnostics: Vec<Diagnostic>,
}

/// Most invalid-sequence diagnostics reported per input before they are summarised.
const MAX_INVALID_REPORTS: u32 = 20;

impl TextReader<io::Empty> {
    /// A reader over a whole input already decoded cleanly from `bytes_read` bytes in
    /// `encoding` (the sniffer's sample): the lines reading those bytes would give.
    pub fn from_decoded(text: String, encoding: TextEncoding, bytes_read: u64) -> Self {
        let mut reader = TextReader::at_start(io::empty(), encoding, bytes_read);
        reader.buf = text;
        reader.eof = true;
        reader
    }
}

impl<R: Read> TextReader<R> {
    /// Sniffs the encoding from the first bytes and prepares to decode the rest.
    pub fn new(inner: R, hint: LegacyHint) -> io::Result<Self> {
        Self::with_detector(inner, |prefix, eof| sniff(prefix, eof, hint))
    }

    /// A reader with nothing decoded yet, `bytes_read` bytes into `inner`.
    fn at_start(inner: R, encoding: TextEncoding, bytes_read: u64) -> Self {
        TextReader {
            inner,
            encoding,
            dec: Dec::new(encoding),
            raw: Vec::new(),
            buf: String::new(),
            pos: 0,
            eof: false,
            line_no: 0,
            max_line: DEFAULT_MAX_LINE,
            skipping: false,
            bytes_read,
            invalid_reported: 0,
            pending_invalid: false,
            diagnostics: Vec::new(),
        }
    }

    /// Like [`TextReader::new`], with a caller-supplied detector over the first bytes.
    pub fn with_detector(
        mut inner: R,
        detect: impl FnOnce(&[u8], bool) -> TextEncoding,
    ) -> io::Result<Self> {
        // `read_to_end` sizes the buffer to small inputs instead of zeroing a whole chunk.
        let mut raw = Vec::new();
        (&mut inner).take(CHUNK as u64).read_to_end(&mut raw)?;
        let filled = raw.len();
        let eof = filled < CHUNK;
        let encoding = detect(&raw, eof);
        let mut reader = TextReader::at_start(inner, encoding, filled as u64);
        let body = raw.get(encoding.bom_len()..).unwrap_or(&[]);
        reader.decode_chunk(body, eof);
        reader.eof = eof;
        reader.raw = raw;
        Ok(reader)
    }

    /// Sets the longest line kept; longer lines are cut and flagged `truncated`.
    pub fn set_max_line(&mut self, max: usize) {
        self.max_line = max.max(1);
    }

    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// Bytes consumed from the underlying reader so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Decoding diagnostics gathered so far (invalid sequences, cut lines).
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diagnostics)
    }

    fn decode_chunk(&mut self, src: &[u8], last: bool) {
        if self.dec.decode(src, &mut self.buf, last) {
            self.pending_invalid = true;
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.eof {
            return Ok(());
        }
        if self.pos > 0 && (self.pos >= self.buf.len() / 2 || self.pos > CHUNK) {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.raw.resize(CHUNK, 0);
        let n = loop {
            match self.inner.read(&mut self.raw) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.bytes_read += n as u64;
        let raw = std::mem::take(&mut self.raw);
        if n == 0 {
            self.eof = true;
            self.decode_chunk(&[], true);
        } else {
            self.decode_chunk(raw.get(..n).unwrap_or(&[]), false);
        }
        self.raw = raw;
        Ok(())
    }

    /// The next physical line, or `None` at the end of the input.
    pub fn next_line(&mut self) -> Option<io::Result<Line<'_>>> {
        let mut truncated = false;
        let mut scan_from = self.pos;
        loop {
            let hay = self.buf.as_bytes().get(scan_from..).unwrap_or(&[]);
            if let Some(off) = memchr::memchr2(b'\n', b'\r', hay) {
                let end = scan_from + off;
                let is_cr = self.buf.as_bytes().get(end) == Some(&b'\r');
                if is_cr && end + 1 == self.buf.len() && !self.eof {
                    // A CR at the end of the buffer may be the first half of CRLF.
                    if let Err(e) = self.fill_keeping(&mut scan_from) {
                        return Some(Err(e));
                    }
                    continue;
                }
                let term = if is_cr && self.buf.as_bytes().get(end + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                let start = self.pos;
                self.pos = end + term;
                return Some(Ok(self.make_line(start, end, truncated)));
            }
            if self.eof {
                if self.pos >= self.buf.len() {
                    return None;
                }
                let (start, end) = (self.pos, self.buf.len());
                self.pos = end;
                return Some(Ok(self.make_line(start, end, truncated)));
            }
            if self.buf.len() - self.pos > self.max_line {
                // Keep the first max_line bytes of the line, drop the rest as it arrives.
                let mut keep = self.pos + self.max_line;
                while !self.buf.is_char_boundary(keep) {
                    keep -= 1;
                }
                self.buf.truncate(keep);
                truncated = true;
                self.skipping = true;
            }
            scan_from = self.buf.len();
            if let Err(e) = self.fill_keeping(&mut scan_from) {
                return Some(Err(e));
            }
            if self.skipping {
                // Discard newly decoded bytes up to the next terminator.
                let hay = self.buf.as_bytes().get(scan_from..).unwrap_or(&[]);
                match memchr::memchr2(b'\n', b'\r', hay) {
                    Some(off) => {
                        self.buf.replace_range(scan_from..scan_from + off, "");
                        self.skipping = false;
                    }
                    None => self.buf.truncate(scan_from),
                }
            }
        }
    }

    /// Fills the buffer, shifting `scan_from` if consumed text was compacted away.
    fn fill_keeping(&mut self, scan_from: &mut usize) -> io::Result<()> {
        let before = self.pos;
        self.fill()?;
        if self.pos != before {
            *scan_from -= before - self.pos;
        }
        Ok(())
    }

    fn make_line(&mut self, start: usize, end: usize, truncated: bool) -> Line<'_> {
        self.line_no += 1;
        let number = self.line_no;
        let text = self.buf.get(start..end).unwrap_or("");
        if truncated {
            self.diagnostics.push(Diagnostic::warning(
                number,
                1,
                "line-too-long",
                format!(
                    "line is longer than {} bytes; only its start was kept",
                    self.max_line
                ),
            ));
        }
        if self.pending_invalid {
            if let Some(col) = text.find('\u{FFFD}') {
                self.invalid_reported += 1;
                if self.invalid_reported <= MAX_INVALID_REPORTS {
                    let column = text.get(..col).map_or(1, |p| p.chars().count() + 1);
                    self.diagnostics.push(Diagnostic::warning(
                        number,
                        column as u32,
                        "invalid-encoding",
                        format!(
                            "invalid {} byte sequence replaced with U+FFFD",
                            self.encoding.name()
                        ),
                    ));
                }
            }
        }
        Line {
            number,
            text,
            truncated,
        }
    }
}

/// A whole small input decoded at once (console captures, logs, configuration files).
#[derive(Debug, Clone)]
pub struct Decoded {
    pub encoding: TextEncoding,
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// Decodes a whole buffer, detecting its encoding.
pub fn decode(bytes: &[u8], hint: LegacyHint) -> Decoded {
    decode_as(bytes, sniff(bytes, true, hint))
}

/// Decodes a whole buffer in a known encoding (its BOM, if any, is skipped).
pub fn decode_as(bytes: &[u8], encoding: TextEncoding) -> Decoded {
    let body = if bytes.len() >= encoding.bom_len() {
        bytes.get(encoding.bom_len()..).unwrap_or(&[])
    } else {
        bytes
    };
    // Sized by the decoder for the worst case of its encoding (more than `body.len()` for
    // UTF-16), so it never regrows.
    let mut text = String::new();
    let had_errors = Dec::new(encoding).decode(body, &mut text, true);
    let mut diagnostics = Vec::new();
    if had_errors {
        let mut reported = 0;
        for (number, line) in lines(&text) {
            if let Some(col) = line.find('\u{FFFD}') {
                reported += 1;
                if reported > MAX_INVALID_REPORTS {
                    break;
                }
                let column = line.get(..col).map_or(1, |p| p.chars().count() + 1);
                diagnostics.push(Diagnostic::warning(
                    number,
                    column as u32,
                    "invalid-encoding",
                    format!(
                        "invalid {} byte sequence replaced with U+FFFD",
                        encoding.name()
                    ),
                ));
            }
        }
    }
    Decoded {
        encoding,
        text,
        diagnostics,
    }
}

/// Physical lines of decoded text with 1-based numbers; CR, LF and CRLF all end a line.
pub fn lines(text: &str) -> Lines<'_> {
    Lines {
        rest: text,
        number: 0,
    }
}

/// Iterator returned by [`lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a str,
    number: u64,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (u64, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        self.number += 1;
        let bytes = self.rest.as_bytes();
        match memchr::memchr2(b'\n', b'\r', bytes) {
            Some(i) => {
                let line = self.rest.get(..i).unwrap_or("");
                let term = if bytes.get(i) == Some(&b'\r') && bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                self.rest = self.rest.get(i + term..).unwrap_or("");
                Some((self.number, line))
            }
            None => {
                let line = self.rest;
                self.rest = "";
                Some((self.number, line))
            }
        }
    }
}

/// `YYYY-MM-DD?HH:MM:SS` at the start of `b` (`?` is a space or `T`): how log records start.
pub fn starts_with_datetime(b: &[u8]) -> bool {
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(b.get(10), Some(b' ') | Some(b'T'))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19)
}

/// Replaces control characters and escape sequences so customer text cannot drive a terminal.
///
/// Tabs become a space; other C0/C1 controls, DEL and bidi overrides become `\u{..}` escapes.
pub fn escape_control(s: &str) -> std::borrow::Cow<'_, str> {
    let needs = s.chars().any(is_dangerous);
    if !needs {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '\t' {
            out.push(' ');
        } else if is_dangerous(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c as u32, 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0xFEFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_over_decoded_text_gives_the_lines_of_the_bytes() {
        let text = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_USERS\\S-1-5-19]\r\n\"A\"=hex:46,00,\\\r\n  00\rlast é";
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let lines = |mut r: TextReader<&[u8]>| {
            let mut out = Vec::new();
            while let Some(l) = r.next_line() {
                let l = l.unwrap();
                out.push((l.number, l.text.to_string(), l.truncated));
            }
            (out, r.bytes_read(), r.encoding())
        };
        let from_bytes =
            lines(TextReader::with_detector(&bytes[..], |_, _| TextEncoding::Utf16Le).unwrap());
        let sample = decode_as(&bytes, TextEncoding::Utf16Le);
        let mut decoded =
            TextReader::from_decoded(sample.text, TextEncoding::Utf16Le, bytes.len() as u64);
        let mut out = Vec::new();
        while let Some(l) = decoded.next_line() {
            let l = l.unwrap();
            out.push((l.number, l.text.to_string(), l.truncated));
        }
        assert_eq!((out, decoded.bytes_read(), decoded.encoding()), from_bytes);
        assert!(decoded.take_diagnostics().is_empty());
    }

    fn read_all(
        bytes: &[u8],
        max: usize,
    ) -> (TextEncoding, Vec<(u64, String, bool)>, Vec<Diagnostic>) {
        let mut r = TextReader::new(bytes, LegacyHint::Guess).unwrap();
        r.set_max_line(max);
        let mut out = Vec::new();
        while let Some(line) = r.next_line() {
            let line = line.unwrap();
            out.push((line.number, line.text.to_string(), line.truncated));
        }
        (r.encoding(), out, r.take_diagnostics())
    }

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { vec![] };
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        v
    }

    #[test]
    fn mixed_terminators_count_physical_lines() {
        let (_, lines, _) = read_all(b"a\r\nb\rc\nd", DEFAULT_MAX_LINE);
        let got: Vec<_> = lines.iter().map(|(n, t, _)| (*n, t.as_str())).collect();
        assert_eq!(got, vec![(1, "a"), (2, "b"), (3, "c"), (4, "d")]);
    }

    #[test]
    fn trailing_terminator_adds_no_empty_line_but_blank_lines_count() {
        let (_, lines, _) = read_all(b"a\r\n\r\nb\r\n", DEFAULT_MAX_LINE);
        let got: Vec<_> = lines.iter().map(|(n, t, _)| (*n, t.as_str())).collect();
        assert_eq!(got, vec![(1, "a"), (2, ""), (3, "b")]);
    }

    #[test]
    fn utf16le_bom_is_not_a_character() {
        let bytes = utf16le(
            "\u{FEFF}Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n",
            false,
        );
        let (enc, lines, diags) = read_all(&bytes, DEFAULT_MAX_LINE);
        assert_eq!(enc, TextEncoding::Utf16Le);
        assert_eq!(lines[0].1, "Windows Registry Editor Version 5.00");
        assert_eq!(lines[2], (3, "[HKEY_CURRENT_USER\\X]".to_string(), false));
        assert!(diags.is_empty());
    }

    #[test]
    fn crlf_split_across_chunks_is_one_terminator() {
        let mut s = "x".repeat(CHUNK - 1);
        s.push_str("\r\nnext\r\n");
        let (_, lines, _) = read_all(s.as_bytes(), DEFAULT_MAX_LINE);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].1, "next");
    }

    #[test]
    fn sniffs_every_family() {
        assert_eq!(
            sniff(b"\xEF\xBB\xBFabc", true, LegacyHint::Guess),
            TextEncoding::Utf8Bom
        );
        assert_eq!(
            sniff(b"\xFE\xFF\x00a", true, LegacyHint::Guess),
            TextEncoding::Utf16Be
        );
        assert_eq!(
            sniff(&utf16le("REGEDIT4\r\n", false), true, LegacyHint::Guess),
            TextEncoding::Utf16LeNoBom
        );
        assert_eq!(
            sniff(b"\x00R\x00E\x00G\x00E", true, LegacyHint::Guess),
            TextEncoding::Utf16BeNoBom
        );
        assert_eq!(
            sniff("grüße".as_bytes(), true, LegacyHint::Guess),
            TextEncoding::Utf8
        );
        assert_eq!(
            sniff(b"caf\xe9 cr\xe8me", true, LegacyHint::Ansi),
            TextEncoding::Windows1252
        );
    }

    #[test]
    fn german_oem_capture_is_cp850() {
        // "FEHLER: Der angegebene Registrierungsschlüssel bzw. Wert wurde nicht gefunden." from cmd >
        let bytes = b"FEHLER: Der angegebene Registrierungsschl\x81ssel bzw. Wert wurde nicht gefunden.\r\n";
        let enc = sniff(bytes, true, LegacyHint::Guess);
        assert_eq!(enc, TextEncoding::Cp850);
        assert!(decode_as(bytes, enc)
            .text
            .contains("Registrierungsschlüssel"));
    }

    #[test]
    fn ansi_french_is_windows_1252() {
        let bytes = b"Le syst\xe8me n'a pas trouv\xe9 la cl\xe9 sp\xe9cifi\xe9e.";
        assert_eq!(
            sniff(bytes, true, LegacyHint::Guess),
            TextEncoding::Windows1252
        );
    }

    #[test]
    fn japanese_capture_is_shift_jis() {
        let (bytes, _, _) = SHIFT_JIS
            .encode("エラー: 指定されたレジストリ キーまたは値が見つかりませんでした。\r\n");
        assert_eq!(
            sniff(&bytes, true, LegacyHint::Guess),
            TextEncoding::ShiftJis
        );
    }

    #[test]
    fn simplified_chinese_netsh_is_gbk_not_windows_1252() {
        // Real zh-CN output (see docs/languages.md), as cmd `>` writes it in code page 936.
        let text = "\r\n当前的 WinHTTP 代理服务器设置:\r\n\r\n    直接访问(没有代理服务器)。\r\n";
        let (bytes, _, _) = GBK.encode(text);
        assert_eq!(sniff(&bytes, true, LegacyHint::Guess), TextEncoding::Gbk);
        assert_eq!(decode_as(&bytes, TextEncoding::Gbk).text, text);
        let proxy = "    代理服务器:  127.0.0.1:1088\r\n    绕过列表     :  (无)\r\n";
        let (bytes, _, _) = GBK.encode(proxy);
        assert_eq!(sniff(&bytes, true, LegacyHint::Guess), TextEncoding::Gbk);
    }

    #[test]
    fn traditional_chinese_is_big5() {
        // A sentence of the zh-TW netsh reference page (MicrosoftDocs, windows-server zh-tw).
        let text = "如果未指定任何參數，則會顯示目前的 WinHTTP proxy 設定。\r\n";
        let (bytes, _, _) = BIG5.encode(text);
        assert_eq!(sniff(&bytes, true, LegacyHint::Guess), TextEncoding::Big5);
    }

    #[test]
    fn russian_cmd_output_is_cp866() {
        // "Прямой доступ (без прокси-сервера)." in CP866.
        let bytes = b"    \x8f\xe0\xef\xac\xae\xa9 \xa4\xae\xe1\xe2\xe3\xaf (\xa1\xa5\xa7 \xaf\xe0\xae\xaa\xe1\xa8-\xe1\xa5\xe0\xa2\xa5\xe0\xa0).\r\n";
        assert_eq!(sniff(bytes, true, LegacyHint::Guess), TextEncoding::Cp866);
        assert!(decode_as(bytes, TextEncoding::Cp866)
            .text
            .contains("Прямой доступ (без прокси-сервера)."));
    }

    /// Encodes `text` in an OEM page by reversing its decoding table (test helper).
    fn oem_encode(text: &str, table: &[char; 128]) -> Vec<u8> {
        text.chars()
            .map(|c| {
                if c.is_ascii() {
                    c as u8
                } else {
                    let i = table.iter().position(|t| *t == c).unwrap();
                    0x80 + i as u8
                }
            })
            .collect()
    }

    #[test]
    fn korean_netsh_is_cp949() {
        // The ko direct-access line of docs/languages.md, as cmd `>` writes it (code page 949).
        let text =
            "\r\nCurrent WinHTTP proxy settings:\r\n\r\n    직접 액세스(프록시 서버 없음)\r\n";
        let (bytes, _, errors) = EUC_KR.encode(text);
        assert!(!errors);
        assert_eq!(sniff(&bytes, true, LegacyHint::Guess), TextEncoding::Cp949);
        assert_eq!(decode_as(&bytes, TextEncoding::Cp949).text, text);
        // A cut prefix (not at the end of the file) still reads as Korean.
        let cut = &bytes[..bytes.len() - 4];
        assert_eq!(sniff(cut, false, LegacyHint::Guess), TextEncoding::Cp949);
    }

    #[test]
    fn chinese_is_not_taken_for_korean_nor_korean_for_chinese() {
        let zh = "\r\n当前的 WinHTTP 代理服务器设置:\r\n\r\n    直接访问(没有代理服务器)。\r\n";
        let (bytes, _, _) = GBK.encode(zh);
        assert_eq!(sniff(&bytes, true, LegacyHint::Guess), TextEncoding::Gbk);
        let (bytes, _, _) = GBK.encode("    代理服务器:  127.0.0.1:1088\r\n");
        assert_eq!(sniff(&bytes, true, LegacyHint::Guess), TextEncoding::Gbk);
        let ja = "エラー: 指定されたレジストリ キーまたは値が見つかりませんでした。\r\n";
        let (bytes, _, _) = SHIFT_JIS.encode(ja);
        assert_eq!(
            sniff(&bytes, true, LegacyHint::Guess),
            TextEncoding::ShiftJis
        );
    }

    #[test]
    fn central_european_captures_are_cp852() {
        let table = &oem_cp::code_table::DECODING_TABLE_CP852;
        for text in [
            // pl: reg's not-found message as Microsoft's Polish Defender for Endpoint docs quote it.
            "BŁĄD: System nie mógł odnaleźć określonego klucza rejestru lub określonej wartości.\r\n",
            // cs: as the Czech Azure ATP proxy page quotes it.
            "Chyba: Nelze najít zadaný klíč registru nebo hodnotu.\r\n",
            // hu: the success message as Hungarian Azure docs quote it.
            "A művelet sikeresen befejeződött.\r\n",
        ] {
            let bytes = oem_encode(text, table);
            assert_eq!(sniff(&bytes, true, LegacyHint::Guess), TextEncoding::Cp852, "{text}");
            assert_eq!(decode_as(&bytes, TextEncoding::Cp852).text, text);
        }
    }

    #[test]
    fn turkish_capture_is_cp857() {
        // tr: reg's not-found message as Microsoft's Turkish Defender for Endpoint docs quote it.
        let text = "HATA: Sistem belirtilen kayıt defteri anahtarını veya değerini bulamadı.\r\n";
        let bytes = oem_encode(text, &CP857);
        assert_eq!(sniff(&bytes, true, LegacyHint::Guess), TextEncoding::Cp857);
        assert_eq!(decode_as(&bytes, TextEncoding::Cp857).text, text);
    }

    #[test]
    fn western_oem_text_stays_cp850() {
        let table = &oem_cp::code_table::DECODING_TABLE_CP850;
        for text in [
            "FEHLER: Der angegebene Registrierungsschlüssel bzw. Wert wurde nicht gefunden.\r\n",
            "Paramètres de proxy WinHTTP actuels :\r\n    Accès direct (pas de serveur proxy).\r\n",
            "Configurações de proxy WinHTTP atuais:\r\n    Acesso direto (sem servidor proxy).\r\n",
            "Configuración actual de proxy de WinHTTP:\r\n    Lista de omisión:  (ninguno)\r\n",
            "C:\\Users\\Günther>reg query HKU\\S-1-5-18 /v ProxyEnable\r\n",
        ] {
            let bytes = oem_encode(text, table);
            assert_eq!(
                sniff(&bytes, true, LegacyHint::Guess),
                TextEncoding::Cp850,
                "{text}"
            );
        }
    }

    #[test]
    fn cp857_table_matches_oem_cp_and_flags_undefined_bytes() {
        for (i, c) in oem_cp::code_table::DECODING_TABLE_CP857.iter().enumerate() {
            assert_eq!(c.unwrap_or('\u{FFFD}'), CP857[i], "byte {:#x}", 0x80 + i);
        }
        let d = decode_as(b"ok \xd5\r\n", TextEncoding::Cp857);
        assert_eq!(d.text, "ok \u{FFFD}\r\n");
        assert_eq!(d.diagnostics[0].code, "invalid-encoding");
    }

    #[test]
    fn cp850_umlauts_next_to_ascii_are_not_shift_jis() {
        // "C:\Users\Günther>" and "Suche beendet: 1 Übereinstimmung(en)" from cmd > in CP850:
        // 0x81 0x6E and 0x9A 0x62 are also valid Shift-JIS pairs.
        let bytes = b"C:\\Users\\G\x81nther>reg compare\r\nSuche beendet: 1 \x9Abereinstimmung(en) gefunden.\r\n";
        assert_eq!(sniff(bytes, true, LegacyHint::Guess), TextEncoding::Cp850);
        let text = decode_as(bytes, TextEncoding::Cp850).text;
        assert!(text.contains("Günther") && text.contains("Übereinstimmung"));
    }

    #[test]
    fn odd_length_utf16_is_replaced_and_reported() {
        let mut bytes = utf16le("\u{FEFF}ab\r\ncd", false);
        bytes.push(0x41);
        let (_, lines, diags) = read_all(&bytes, DEFAULT_MAX_LINE);
        assert_eq!(lines[1].1, "cd\u{FFFD}");
        assert_eq!(diags.len(), 1);
        assert_eq!(
            (diags[0].line, diags[0].column, diags[0].code),
            (2, 3, "invalid-encoding")
        );
    }

    #[test]
    fn overlong_line_is_cut_and_the_next_line_survives() {
        let mut s = "y".repeat(3 * CHUNK);
        s.push_str("\nafter\n");
        let (_, lines, diags) = read_all(s.as_bytes(), 1000);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].1.len(), 1000);
        assert!(lines[0].2);
        assert_eq!(lines[1], (2, "after".to_string(), false));
        assert_eq!(diags[0].code, "line-too-long");
    }

    #[test]
    fn lines_iterator_matches_reader() {
        let text = "a\r\nb\rc\n\nd";
        let got: Vec<_> = lines(text).collect();
        assert_eq!(got, vec![(1, "a"), (2, "b"), (3, "c"), (4, ""), (5, "d")]);
    }

    #[test]
    fn escape_control_neutralises_escape_sequences() {
        assert_eq!(escape_control("a\x1b[31mred\x07"), "a\\u{1b}[31mred\\u{7}");
        assert_eq!(escape_control("plain"), "plain");
        assert_eq!(escape_control("x\u{202E}y"), "x\\u{202e}y");
    }
}
