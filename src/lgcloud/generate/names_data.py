"""Static reference data for the synthetic-town generator.

Everything here is plain, immutable data: surnames with readings and weights, given
names tagged by the era they fit, variant characters and ideographic variation
sequences (IVS) that real registers contain, districts of the three towns, and
addresses and countries for move-in / move-out history.

Strings are stored exactly as they must appear in a register and must never be
normalised (NFC/NFKC would, for instance, fold a compatibility ideograph onto its
unified form). Variant characters and IVS are written as escapes so the source is
unambiguous whatever editor or font reads it.

``IVS_FORMS`` was verified against the real IPAmj明朝 font (Debian package
``fonts-ipamj-mincho`` 005.01, ``/usr/share/fonts/truetype/ipamj/ipamjm.ttf``): every
sequence is in the font's cmap format 14 table, selects a glyph other than the base
character's default glyph, and is a Moji_Joho collection sequence of the IVD (the
font's glyph name equals the MJ code that the MJ文字情報一覧表 data shipped with
jntajis gives for the sequence). ``scripts/check_ivs_font.py`` re-does that check.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, NamedTuple

Era = Literal["old", "mid", "new"]
"""Birth-year band a given name fits: before 1950, 1950-1989, 1990 and later."""

ERA_BOUNDS: Final[Mapping[Era, tuple[int, int]]] = MappingProxyType(
    {"old": (1900, 1949), "mid": (1950, 1989), "new": (1990, 2100)}
)
"""Inclusive birth-year range of each era."""


class FamilyName(NamedTuple):
    """A surname: how it is written, its reading in full-width katakana, a weight."""

    kanji: str
    reading: str
    weight: int


class GivenName(NamedTuple):
    """A given name: how it is written, its katakana reading, the era it fits."""

    kanji: str
    reading: str
    era: Era


class IvsForm(NamedTuple):
    """An ideographic variation sequence: base character, base + selector, a note."""

    base: str
    sequence: str
    note: str


class TownName(NamedTuple):
    """A municipality: its name, the katakana reading, prefecture and county."""

    name: str
    reading: str
    county: str


# ---------------------------------------------------------------------------
# Surnames. Weights are relative frequencies loosely modelled on Niigata
# prefecture, where 佐藤, 渡辺, 小林 and 高橋 lead and 五十嵐, 本間, 長谷川,
# 丸山 and 星 are far commoner than nationally.
# ---------------------------------------------------------------------------

FAMILY_NAMES: Final[tuple[FamilyName, ...]] = (
    FamilyName("佐藤", "サトウ", 100),
    FamilyName("渡辺", "ワタナベ", 95),
    FamilyName("小林", "コバヤシ", 85),
    FamilyName("高橋", "タカハシ", 80),
    FamilyName("鈴木", "スズキ", 60),
    FamilyName("斎藤", "サイトウ", 55),
    FamilyName("阿部", "アベ", 45),
    FamilyName("山田", "ヤマダ", 45),
    FamilyName("長谷川", "ハセガワ", 40),
    FamilyName("五十嵐", "イガラシ", 40),
    FamilyName("本間", "ホンマ", 35),
    FamilyName("加藤", "カトウ", 35),
    FamilyName("伊藤", "イトウ", 35),
    FamilyName("田中", "タナカ", 33),
    FamilyName("山本", "ヤマモト", 30),
    FamilyName("近藤", "コンドウ", 30),
    FamilyName("佐々木", "ササキ", 28),
    FamilyName("中村", "ナカムラ", 28),
    FamilyName("丸山", "マルヤマ", 28),
    FamilyName("小川", "オガワ", 26),
    FamilyName("池田", "イケダ", 25),
    FamilyName("清水", "シミズ", 25),
    FamilyName("山崎", "ヤマザキ", 25),
    FamilyName("石井", "イシイ", 24),
    FamilyName("金子", "カネコ", 24),
    FamilyName("吉田", "ヨシダ", 24),
    FamilyName("大野", "オオノ", 22),
    FamilyName("坂井", "サカイ", 22),
    FamilyName("星", "ホシ", 22),
    FamilyName("斉藤", "サイトウ", 20),
    FamilyName("樋口", "ヒグチ", 20),
    FamilyName("小池", "コイケ", 20),
    FamilyName("松本", "マツモト", 20),
    FamilyName("井上", "イノウエ", 20),
    FamilyName("田村", "タムラ", 18),
    FamilyName("遠藤", "エンドウ", 18),
    FamilyName("木村", "キムラ", 18),
    FamilyName("中川", "ナカガワ", 18),
    FamilyName("今井", "イマイ", 18),
    FamilyName("西山", "ニシヤマ", 16),
    FamilyName("藤田", "フジタ", 16),
    FamilyName("原", "ハラ", 16),
    FamilyName("相馬", "ソウマ", 15),
    FamilyName("富樫", "トガシ", 15),
    FamilyName("風間", "カザマ", 15),
    FamilyName("目黒", "メグロ", 14),
    FamilyName("若林", "ワカバヤシ", 14),
    FamilyName("土田", "ツチダ", 14),
    FamilyName("桑原", "クワバラ", 14),
    FamilyName("笠原", "カサハラ", 14),
    FamilyName("関", "セキ", 14),
    FamilyName("山口", "ヤマグチ", 14),
    FamilyName("古川", "フルカワ", 12),
    FamilyName("早川", "ハヤカワ", 12),
    FamilyName("野口", "ノグチ", 12),
    FamilyName("島田", "シマダ", 12),
    FamilyName("内山", "ウチヤマ", 12),
    FamilyName("横山", "ヨコヤマ", 12),
    FamilyName("渋谷", "シブヤ", 12),
    FamilyName("中野", "ナカノ", 12),
    FamilyName("石川", "イシカワ", 12),
    FamilyName("小野塚", "オノヅカ", 10),
    FamilyName("大滝", "オオタキ", 10),
    FamilyName("栗林", "クリバヤシ", 10),
    FamilyName("片山", "カタヤマ", 10),
    FamilyName("大竹", "オオタケ", 10),
    FamilyName("馬場", "ババ", 10),
    FamilyName("大橋", "オオハシ", 10),
    FamilyName("石山", "イシヤマ", 10),
    FamilyName("田辺", "タナベ", 10),
    FamilyName("杉山", "スギヤマ", 10),
    FamilyName("松井", "マツイ", 10),
    FamilyName("青木", "アオキ", 10),
    FamilyName("村山", "ムラヤマ", 10),
    FamilyName("竹内", "タケウチ", 10),
    FamilyName("小島", "コジマ", 10),
    FamilyName("高野", "タカノ", 10),
    FamilyName("中島", "ナカジマ", 10),
    FamilyName("後藤", "ゴトウ", 10),
    FamilyName("小山", "コヤマ", 10),
    FamilyName("渡部", "ワタナベ", 10),
    FamilyName("小黒", "オグロ", 8),
    FamilyName("諸橋", "モロハシ", 8),
    FamilyName("涌井", "ワクイ", 8),
    FamilyName("捧", "ササゲ", 8),
    FamilyName("長井", "ナガイ", 8),
    FamilyName("布施", "フセ", 8),
    FamilyName("森山", "モリヤマ", 8),
    FamilyName("吉川", "ヨシカワ", 8),
    FamilyName("野村", "ノムラ", 8),
    FamilyName("荒木", "アラキ", 8),
    FamilyName("川上", "カワカミ", 8),
    FamilyName("菊地", "キクチ", 8),
    FamilyName("大塚", "オオツカ", 8),
    FamilyName("皆川", "ミナガワ", 8),
    FamilyName("平田", "ヒラタ", 8),
    FamilyName("宮川", "ミヤガワ", 8),
    FamilyName("宮崎", "ミヤザキ", 8),
    FamilyName("川崎", "カワサキ", 8),
    FamilyName("高田", "タカダ", 8),
    FamilyName("高木", "タカギ", 8),
    FamilyName("大島", "オオシマ", 8),
    FamilyName("沢田", "サワダ", 8),
    FamilyName("小沢", "オザワ", 8),
    FamilyName("藤井", "フジイ", 8),
    FamilyName("武田", "タケダ", 8),
    FamilyName("桜井", "サクライ", 8),
    FamilyName("太田", "オオタ", 8),
    FamilyName("岡田", "オカダ", 8),
    FamilyName("堀", "ホリ", 8),
    FamilyName("安藤", "アンドウ", 8),
    FamilyName("新保", "シンボ", 8),
    FamilyName("石黒", "イシグロ", 8),
    FamilyName("霜鳥", "シモトリ", 6),
    FamilyName("坂上", "サカガミ", 6),
    FamilyName("真島", "マジマ", 6),
    FamilyName("石塚", "イシヅカ", 6),
    FamilyName("岩崎", "イワサキ", 6),
    FamilyName("野崎", "ノザキ", 6),
    FamilyName("高井", "タカイ", 6),
    FamilyName("高山", "タカヤマ", 6),
    FamilyName("川島", "カワシマ", 6),
    FamilyName("滝沢", "タキザワ", 6),
    FamilyName("藤沢", "フジサワ", 6),
    FamilyName("長沢", "ナガサワ", 6),
    FamilyName("浜田", "ハマダ", 6),
    FamilyName("吉村", "ヨシムラ", 6),
    FamilyName("吉岡", "ヨシオカ", 6),
    FamilyName("藤原", "フジワラ", 6),
    FamilyName("佐久間", "サクマ", 6),
    FamilyName("大山", "オオヤマ", 6),
    FamilyName("広瀬", "ヒロセ", 6),
    FamilyName("上野", "ウエノ", 6),
    FamilyName("西田", "ニシダ", 6),
    FamilyName("永井", "ナガイ", 6),
    FamilyName("須藤", "スドウ", 6),
    FamilyName("工藤", "クドウ", 6),
    FamilyName("内藤", "ナイトウ", 6),
    FamilyName("神田", "カンダ", 6),
    FamilyName("平山", "ヒラヤマ", 6),
    FamilyName("熊倉", "クマクラ", 6),
    FamilyName("白井", "シライ", 6),
    FamilyName("水野", "ミズノ", 6),
    FamilyName("福田", "フクダ", 6),
    FamilyName("福島", "フクシマ", 6),
    FamilyName("小熊", "オグマ", 6),
    FamilyName("関根", "セキネ", 6),
    FamilyName("関口", "セキグチ", 6),
    FamilyName("小田", "オダ", 6),
    FamilyName("土屋", "ツチヤ", 6),
    FamilyName("佐野", "サノ", 6),
    FamilyName("新井", "アライ", 6),
    FamilyName("荒井", "アライ", 6),
    FamilyName("菅原", "スガワラ", 6),
    FamilyName("坂口", "サカグチ", 6),
    FamilyName("増田", "マスダ", 6),
    FamilyName("松田", "マツダ", 6),
    FamilyName("村上", "ムラカミ", 6),
    FamilyName("島津", "シマヅ", 4),
    FamilyName("北島", "キタジマ", 4),
    FamilyName("浜口", "ハマグチ", 4),
    FamilyName("長浜", "ナガハマ", 4),
    FamilyName("国井", "クニイ", 4),
    FamilyName("吉井", "ヨシイ", 4),
    FamilyName("山際", "ヤマギワ", 4),
    FamilyName("堀川", "ホリカワ", 4),
    FamilyName("神林", "カンバヤシ", 4),
    FamilyName("徳永", "トクナガ", 4),
    FamilyName("柳", "ヤナギ", 4),
    FamilyName("柳田", "ヤナギダ", 4),
    FamilyName("桑野", "クワノ", 4),
    FamilyName("広川", "ヒロカワ", 4),
    FamilyName("滝口", "タキグチ", 4),
    FamilyName("恩田", "オンダ", 4),
    FamilyName("田代", "タシロ", 4),
    FamilyName("蓮沼", "ハスヌマ", 4),
    FamilyName("大倉", "オオクラ", 4),
    FamilyName("韮沢", "ニラサワ", 4),
    FamilyName("猪俣", "イノマタ", 4),
    FamilyName("剣持", "ケンモツ", 4),
    FamilyName("金田", "カネダ", 4),
    FamilyName("羽賀", "ハガ", 4),
    FamilyName("帆苅", "ホガリ", 4),
    FamilyName("江口", "エグチ", 4),
    FamilyName("上原", "ウエハラ", 4),
    FamilyName("大関", "オオゼキ", 4),
    FamilyName("矢部", "ヤベ", 4),
    FamilyName("駒形", "コマガタ", 4),
    FamilyName("長橋", "ナガハシ", 4),
    FamilyName("石橋", "イシバシ", 4),
    FamilyName("稲垣", "イナガキ", 4),
    FamilyName("稲田", "イナダ", 4),
    FamilyName("今野", "コンノ", 4),
    FamilyName("菅井", "スガイ", 4),
    FamilyName("須貝", "スガイ", 4),
    FamilyName("加賀", "カガ", 4),
    FamilyName("宮島", "ミヤジマ", 4),
    FamilyName("島崎", "シマザキ", 4),
    FamilyName("葛西", "カサイ", 4),
    FamilyName("辻", "ツジ", 4),
    FamilyName("神山", "カミヤマ", 4),
    FamilyName("福井", "フクイ", 4),
    FamilyName("坂田", "サカタ", 4),
    FamilyName("松原", "マツバラ", 4),
    FamilyName("葛巻", "クズマキ", 3),
    FamilyName("辻村", "ツジムラ", 3),
    FamilyName("増井", "マスイ", 3),
    FamilyName("梅田", "ウメダ", 3),
    FamilyName("国島", "クニシマ", 3),
)

# ---------------------------------------------------------------------------
# Given names. Names written in katakana (ハナ, キヨ ...) were common for women
# born before about 1930; the register holds them as written.
# ---------------------------------------------------------------------------

GIVEN_NAMES_MALE: Final[tuple[GivenName, ...]] = (
    # born before 1950
    GivenName("清", "キヨシ", "old"),
    GivenName("勇", "イサム", "old"),
    GivenName("茂", "シゲル", "old"),
    GivenName("実", "ミノル", "old"),
    GivenName("博", "ヒロシ", "old"),
    GivenName("正", "タダシ", "old"),
    GivenName("進", "ススム", "old"),
    GivenName("勝", "マサル", "old"),
    GivenName("武", "タケシ", "old"),
    GivenName("三郎", "サブロウ", "old"),
    GivenName("正雄", "マサオ", "old"),
    GivenName("一郎", "イチロウ", "old"),
    GivenName("義雄", "ヨシオ", "old"),
    GivenName("幸雄", "ユキオ", "old"),
    GivenName("昭", "アキラ", "old"),
    GivenName("和夫", "カズオ", "old"),
    GivenName("秀夫", "ヒデオ", "old"),
    GivenName("敏夫", "トシオ", "old"),
    GivenName("武雄", "タケオ", "old"),
    GivenName("久雄", "ヒサオ", "old"),
    GivenName("栄一", "エイイチ", "old"),
    GivenName("重雄", "シゲオ", "old"),
    GivenName("正一", "ショウイチ", "old"),
    GivenName("金作", "キンサク", "old"),
    GivenName("松太郎", "マツタロウ", "old"),
    GivenName("徳治", "トクジ", "old"),
    GivenName("喜一", "キイチ", "old"),
    GivenName("善吉", "ゼンキチ", "old"),
    GivenName("文雄", "フミオ", "old"),
    GivenName("辰雄", "タツオ", "old"),
    GivenName("豊", "ユタカ", "old"),
    GivenName("昇", "ノボル", "old"),
    GivenName("清一", "セイイチ", "old"),
    GivenName("伊三郎", "イサブロウ", "old"),
    GivenName("貞夫", "サダオ", "old"),
    GivenName("隆", "タカシ", "old"),
    GivenName("二郎", "ジロウ", "old"),
    GivenName("四郎", "シロウ", "old"),
    GivenName("吉男", "ヨシオ", "old"),
    GivenName("寅吉", "トラキチ", "old"),
    GivenName("正治", "ショウジ", "old"),
    GivenName("健蔵", "ケンゾウ", "old"),
    GivenName("禎三", "テイゾウ", "old"),
    GivenName("福松", "フクマツ", "old"),
    # born 1950-1989
    GivenName("誠", "マコト", "mid"),
    GivenName("浩", "ヒロシ", "mid"),
    GivenName("健一", "ケンイチ", "mid"),
    GivenName("修", "オサム", "mid"),
    GivenName("聡", "サトシ", "mid"),
    GivenName("和彦", "カズヒコ", "mid"),
    GivenName("克己", "カツミ", "mid"),
    GivenName("直樹", "ナオキ", "mid"),
    GivenName("哲也", "テツヤ", "mid"),
    GivenName("剛", "ツヨシ", "mid"),
    GivenName("浩二", "コウジ", "mid"),
    GivenName("孝", "タカシ", "mid"),
    GivenName("達也", "タツヤ", "mid"),
    GivenName("大輔", "ダイスケ", "mid"),
    GivenName("拓也", "タクヤ", "mid"),
    GivenName("和也", "カズヤ", "mid"),
    GivenName("秀樹", "ヒデキ", "mid"),
    GivenName("伸一", "シンイチ", "mid"),
    GivenName("康弘", "ヤスヒロ", "mid"),
    GivenName("順一", "ジュンイチ", "mid"),
    GivenName("幸一", "コウイチ", "mid"),
    GivenName("裕之", "ヒロユキ", "mid"),
    GivenName("雅之", "マサユキ", "mid"),
    GivenName("俊介", "シュンスケ", "mid"),
    GivenName("淳", "ジュン", "mid"),
    GivenName("亮", "リョウ", "mid"),
    GivenName("学", "マナブ", "mid"),
    GivenName("敦", "アツシ", "mid"),
    GivenName("智之", "トモユキ", "mid"),
    GivenName("正樹", "マサキ", "mid"),
    GivenName("勝也", "カツヤ", "mid"),
    GivenName("昌弘", "マサヒロ", "mid"),
    GivenName("義明", "ヨシアキ", "mid"),
    GivenName("健二", "ケンジ", "mid"),
    GivenName("洋一", "ヨウイチ", "mid"),
    GivenName("卓也", "タクヤ", "mid"),
    GivenName("隆之", "タカユキ", "mid"),
    GivenName("祐介", "ユウスケ", "mid"),
    GivenName("晴彦", "ハルヒコ", "mid"),
    GivenName("靖", "ヤスシ", "mid"),
    GivenName("明", "アキラ", "mid"),
    GivenName("徹", "トオル", "mid"),
    GivenName("貴之", "タカユキ", "mid"),
    GivenName("恵一", "ケイイチ", "mid"),
    # born 1990 and later
    GivenName("翔太", "ショウタ", "new"),
    GivenName("蓮", "レン", "new"),
    GivenName("大翔", "ヒロト", "new"),
    GivenName("悠真", "ユウマ", "new"),
    GivenName("湊", "ミナト", "new"),
    GivenName("陽翔", "ハルト", "new"),
    GivenName("樹", "イツキ", "new"),
    GivenName("颯太", "ソウタ", "new"),
    GivenName("悠斗", "ユウト", "new"),
    GivenName("大輝", "ダイキ", "new"),
    GivenName("拓海", "タクミ", "new"),
    GivenName("陸", "リク", "new"),
    GivenName("蒼", "アオイ", "new"),
    GivenName("結翔", "ユイト", "new"),
    GivenName("奏太", "ソウタ", "new"),
    GivenName("健太", "ケンタ", "new"),
    GivenName("翔", "ショウ", "new"),
    GivenName("海斗", "カイト", "new"),
    GivenName("優斗", "ユウト", "new"),
    GivenName("颯", "ハヤテ", "new"),
    GivenName("朝陽", "アサヒ", "new"),
    GivenName("律", "リツ", "new"),
    GivenName("陽太", "ヨウタ", "new"),
    GivenName("涼太", "リョウタ", "new"),
    GivenName("一輝", "カズキ", "new"),
    GivenName("智也", "トモヤ", "new"),
    GivenName("和真", "カズマ", "new"),
    GivenName("航", "ワタル", "new"),
    GivenName("隼人", "ハヤト", "new"),
    GivenName("瑛太", "エイタ", "new"),
    GivenName("駿", "シュン", "new"),
    GivenName("大和", "ヤマト", "new"),
    GivenName("蒼空", "ソラ", "new"),
    GivenName("新", "アラタ", "new"),
    GivenName("龍之介", "リュウノスケ", "new"),
    GivenName("悠人", "ユウト", "new"),
    GivenName("大地", "ダイチ", "new"),
    GivenName("翼", "ツバサ", "new"),
    GivenName("雄大", "ユウダイ", "new"),
    GivenName("輝", "ヒカル", "new"),
    GivenName("晴", "ハル", "new"),
)

GIVEN_NAMES_FEMALE: Final[tuple[GivenName, ...]] = (
    # born before 1950
    GivenName("ハナ", "ハナ", "old"),
    GivenName("キヨ", "キヨ", "old"),
    GivenName("トミ", "トミ", "old"),
    GivenName("ハツ", "ハツ", "old"),
    GivenName("ミツ", "ミツ", "old"),
    GivenName("フミ", "フミ", "old"),
    GivenName("キミ", "キミ", "old"),
    GivenName("ヨシ", "ヨシ", "old"),
    GivenName("タケ", "タケ", "old"),
    GivenName("マツ", "マツ", "old"),
    GivenName("チヨ", "チヨ", "old"),
    GivenName("ウメ", "ウメ", "old"),
    GivenName("トシ", "トシ", "old"),
    GivenName("ツル", "ツル", "old"),
    GivenName("和子", "カズコ", "old"),
    GivenName("幸子", "サチコ", "old"),
    GivenName("節子", "セツコ", "old"),
    GivenName("文子", "フミコ", "old"),
    GivenName("久子", "ヒサコ", "old"),
    GivenName("静子", "シズコ", "old"),
    GivenName("千代", "チヨ", "old"),
    GivenName("春江", "ハルエ", "old"),
    GivenName("美代子", "ミヨコ", "old"),
    GivenName("光子", "ミツコ", "old"),
    GivenName("芳子", "ヨシコ", "old"),
    GivenName("正子", "マサコ", "old"),
    GivenName("敏子", "トシコ", "old"),
    GivenName("清子", "キヨコ", "old"),
    GivenName("初江", "ハツエ", "old"),
    GivenName("花子", "ハナコ", "old"),
    GivenName("静江", "シズエ", "old"),
    GivenName("房子", "フサコ", "old"),
    GivenName("富子", "トミコ", "old"),
    GivenName("松子", "マツコ", "old"),
    GivenName("梅子", "ウメコ", "old"),
    GivenName("昭子", "アキコ", "old"),
    GivenName("京子", "キョウコ", "old"),
    GivenName("悦子", "エツコ", "old"),
    GivenName("八重子", "ヤエコ", "old"),
    GivenName("信子", "ノブコ", "old"),
    GivenName("千代子", "チヨコ", "old"),
    GivenName("愛子", "アイコ", "old"),
    GivenName("礼子", "レイコ", "old"),
    # born 1950-1989
    GivenName("恵子", "ケイコ", "mid"),
    GivenName("由美子", "ユミコ", "mid"),
    GivenName("裕子", "ユウコ", "mid"),
    GivenName("直美", "ナオミ", "mid"),
    GivenName("久美子", "クミコ", "mid"),
    GivenName("智子", "トモコ", "mid"),
    GivenName("真由美", "マユミ", "mid"),
    GivenName("明美", "アケミ", "mid"),
    GivenName("陽子", "ヨウコ", "mid"),
    GivenName("恵美", "エミ", "mid"),
    GivenName("美香", "ミカ", "mid"),
    GivenName("香織", "カオリ", "mid"),
    GivenName("理恵", "リエ", "mid"),
    GivenName("由紀", "ユキ", "mid"),
    GivenName("純子", "ジュンコ", "mid"),
    GivenName("典子", "ノリコ", "mid"),
    GivenName("美穂", "ミホ", "mid"),
    GivenName("恵", "メグミ", "mid"),
    GivenName("愛", "アイ", "mid"),
    GivenName("麻衣", "マイ", "mid"),
    GivenName("聡子", "サトコ", "mid"),
    GivenName("美紀", "ミキ", "mid"),
    GivenName("千春", "チハル", "mid"),
    GivenName("和美", "カズミ", "mid"),
    GivenName("幸恵", "ユキエ", "mid"),
    GivenName("早苗", "サナエ", "mid"),
    GivenName("涼子", "リョウコ", "mid"),
    GivenName("綾", "アヤ", "mid"),
    GivenName("奈美", "ナミ", "mid"),
    GivenName("沙織", "サオリ", "mid"),
    GivenName("亜希子", "アキコ", "mid"),
    GivenName("真紀", "マキ", "mid"),
    GivenName("静香", "シズカ", "mid"),
    GivenName("紀子", "ノリコ", "mid"),
    GivenName("弘美", "ヒロミ", "mid"),
    GivenName("美智子", "ミチコ", "mid"),
    GivenName("洋子", "ヨウコ", "mid"),
    GivenName("祐子", "ユウコ", "mid"),
    GivenName("晴美", "ハルミ", "mid"),
    GivenName("靖子", "ヤスコ", "mid"),
    # born 1990 and later
    GivenName("陽菜", "ヒナ", "new"),
    GivenName("結衣", "ユイ", "new"),
    GivenName("葵", "アオイ", "new"),
    GivenName("美咲", "ミサキ", "new"),
    GivenName("凛", "リン", "new"),
    GivenName("結愛", "ユア", "new"),
    GivenName("さくら", "サクラ", "new"),
    GivenName("芽依", "メイ", "new"),
    GivenName("莉子", "リコ", "new"),
    GivenName("美羽", "ミウ", "new"),
    GivenName("彩花", "アヤカ", "new"),
    GivenName("七海", "ナナミ", "new"),
    GivenName("杏", "アン", "new"),
    GivenName("紬", "ツムギ", "new"),
    GivenName("陽葵", "ヒマリ", "new"),
    GivenName("花音", "カノン", "new"),
    GivenName("優奈", "ユウナ", "new"),
    GivenName("彩乃", "アヤノ", "new"),
    GivenName("美優", "ミユ", "new"),
    GivenName("琴音", "コトネ", "new"),
    GivenName("真央", "マオ", "new"),
    GivenName("萌", "モエ", "new"),
    GivenName("遥", "ハルカ", "new"),
    GivenName("明日香", "アスカ", "new"),
    GivenName("愛美", "マナミ", "new"),
    GivenName("菜々子", "ナナコ", "new"),
    GivenName("千尋", "チヒロ", "new"),
    GivenName("楓", "カエデ", "new"),
    GivenName("舞", "マイ", "new"),
    GivenName("詩織", "シオリ", "new"),
    GivenName("澪", "ミオ", "new"),
    GivenName("結菜", "ユイナ", "new"),
    GivenName("心春", "コハル", "new"),
    GivenName("凪", "ナギ", "new"),
    GivenName("杏奈", "アンナ", "new"),
    GivenName("ひかり", "ヒカリ", "new"),
    GivenName("あかり", "アカリ", "new"),
    GivenName("美桜", "ミオ", "new"),
    GivenName("莉央", "リオ", "new"),
    GivenName("彩", "アヤ", "new"),
)

# ---------------------------------------------------------------------------
# Variant characters: separately encoded code points that registers hold in
# place of the common form (髙橋, 山﨑, 齋藤, 渡邊 ...). Every value is a unified
# ideograph that NFC leaves unchanged; CJK compatibility ideographs such as
# U+FA10 (塚) are left out because NFC folds them onto the unified form.
# ---------------------------------------------------------------------------

VARIANT_FORMS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "高": ("\u9ad9",),  # 髙
        "崎": ("\ufa11", "\u5d5c"),  # 﨑 (U+FA11, a unified ideograph), 嵜
        "斎": ("\u9f4b", "\u9f4a"),  # 齋, 齊
        "辺": ("\u908a", "\u9089"),  # 邊, 邉
        "沢": ("\u6fa4",),  # 澤
        "浜": ("\u6ff1", "\u6ff5"),  # 濱, 濵
        "国": ("\u570b",),  # 國
        "吉": ("\U00020bb7",),  # 𠮷 (tsuchi-yoshi)
        "島": ("\u5d8b", "\u5d8c"),  # 嶋, 嶌
        "広": ("\u5ee3",),  # 廣
        "桜": ("\u6afb",),  # 櫻
        "滝": ("\u7027",),  # 瀧
        "竜": ("\u9f8d",),  # 龍
        "関": ("\u95dc",),  # 關
        "恵": ("\u60e0",),  # 惠
        "徳": ("\u5fb7",),  # 德
        "条": ("\u689d",),  # 條
        "栄": ("\u69ae",),  # 榮
        "実": ("\u5be6",),  # 實
        "真": ("\u771e",),  # 眞
        "富": ("\u51a8",),  # 冨
        "柳": ("\u6801",),  # 栁
        "桑": ("\u6852",),  # 桒
        "峰": ("\u5cef",),  # 峯
        "館": ("\u8218",),  # 舘
        "蔵": ("\u85cf",),  # 藏
        "豊": ("\u8c50",),  # 豐
        "曽": ("\u66fe",),  # 曾
        "寿": ("\u58fd",),  # 壽
        "弥": ("\u5f4c",),  # 彌
        "礼": ("\u79ae",),  # 禮
        "槙": ("\u69c7",),  # 槇
        "渕": ("\u6df5",),  # 淵
        "野": ("\u57dc",),  # 埜
    }
)

# ---------------------------------------------------------------------------
# Ideographic variation sequences (Moji_Joho collection), each verified to select
# a non-default glyph in IPAmj明朝 005.01. The note names that glyph and the
# default glyph of the base character.
# ---------------------------------------------------------------------------

IVS_FORMS: Final[tuple[IvsForm, ...]] = (
    IvsForm("\u845b", "\u845b\U000e0102", "IPAmj glyph mj022335 (default mj022336); 葛西, 葛巻"),
    IvsForm("\u845b", "\u845b\U000e0104", "IPAmj glyph mj022340 (default mj022336); 葛西, 葛巻"),
    IvsForm("\u8fbb", "\u8fbb\U000e0102", "IPAmj glyph mj025760 (default mj025761); 辻"),
    IvsForm("\u8fba", "\u8fba\U000e0102", "IPAmj glyph mj025759 (default mj025758); 渡辺"),
    IvsForm("\u9089", "\u9089\U000e0119", "IPAmj glyph mj026191 (default mj026190); 渡邉"),
    IvsForm("\u9089", "\u9089\U000e011a", "IPAmj glyph mj026194 (default mj026190); 渡邉"),
    IvsForm("\u9089", "\u9089\U000e011b", "IPAmj glyph mj026192 (default mj026190); 渡邉"),
    IvsForm("\u9089", "\u9089\U000e011f", "IPAmj glyph mj026193 (default mj026190); 渡邉"),
    IvsForm("\u908a", "\u908a\U000e010d", "IPAmj glyph mj026202 (default mj026200); 渡邊"),
    IvsForm("\u908a", "\u908a\U000e010e", "IPAmj glyph mj026201 (default mj026200); 渡邊"),
    IvsForm("\u908a", "\u908a\U000e010f", "IPAmj glyph mj026199 (default mj026200); 渡邊"),
    IvsForm("\ufa11", "\ufa11\U000e0103", "IPAmj glyph mj030197 (default mj030196); 山\ufa11"),
    IvsForm("\u9686", "\u9686\U000e0104", "IPAmj glyph mj027640 (default mj027639); 隆"),
    IvsForm("\u9686", "\u9686\U000e0105", "IPAmj glyph mj030190 (default mj027639); 隆"),
    IvsForm(
        "\u7950",
        "\u7950\U000e0103",
        "IPAmj glyph mj030277 (default mj018782); 示-radical form, same glyph as U+FA4F; 祐",
    ),
    IvsForm(
        "\u795e",
        "\u795e\U000e0103",
        "IPAmj glyph mj030211 (default mj018811); 示-radical form, same glyph as U+FA19; 神",
    ),
    IvsForm(
        "\u798f",
        "\u798f\U000e0103",
        "IPAmj glyph mj030213 (default mj018896); 示-radical form, same glyph as U+FA1B; 福",
    ),
    IvsForm("\u658e", "\u658e\U000e0102", "IPAmj glyph mj013049 (default mj013050); 斎藤"),
    IvsForm("\u9f4b", "\u9f4b\U000e0103", "IPAmj glyph mj030062 (default mj030060); 齋藤"),
    IvsForm("\u9f4b", "\u9f4b\U000e0104", "IPAmj glyph mj030061 (default mj030060); 齋藤"),
    IvsForm("\u9f4a", "\u9f4a\U000e0103", "IPAmj glyph mj030058 (default mj030059); 齊藤"),
    IvsForm("\u6fa4", "\u6fa4\U000e0102", "IPAmj glyph mj016004 (default mj016002); 澤"),
    IvsForm("\u6ff1", "\u6ff1\U000e0102", "IPAmj glyph mj016103 (default mj016101); 濱"),
    IvsForm("\u85e4", "\u85e4\U000e0103", "IPAmj glyph mj023080 (default mj023079); 藤"),
    IvsForm("\u7c60", "\u7c60\U000e0102", "IPAmj glyph mj019767 (default mj019765); 聖籠"),
    IvsForm("\u8056", "\u8056\U000e0103", "IPAmj glyph mj020845 (default mj020846); 聖籠"),
    IvsForm(
        "\u84ee", "\u84ee\U000e0103", "IPAmj glyph mj022606 (default mj022603); 蓮野, 蓮潟, 蓮沼"
    ),
    IvsForm(
        "\u6075",
        "\u6075\U000e0103",
        "IPAmj glyph mj030308 (default mj011561); same glyph as U+FA6B; 恵",
    ),
    IvsForm("\u9f8d", "\u9f8d\U000e0104", "IPAmj glyph mj030125 (default mj030123); 龍"),
    IvsForm("\u7027", "\u7027\U000e0103", "IPAmj glyph mj016180 (default mj016177); 瀧"),
)

# ---------------------------------------------------------------------------
# Towns, districts (大字) and postal codes. District names and codes are the
# real ones of Japan Post's postal-code data for each town.
# ---------------------------------------------------------------------------

TOWN_NAMES: Final[Mapping[str, TownName]] = MappingProxyType(
    {
        "153079": TownName("聖籠町", "セイロウマチ", "新潟県北蒲原郡"),
        "154059": TownName("出雲崎町", "イズモザキマチ", "新潟県三島郡"),
        "155811": TownName("関川村", "セキカワムラ", "新潟県岩船郡"),
    }
)

POSTAL_PREFIX: Final[Mapping[str, str]] = MappingProxyType(
    {
        # 聖籠町 is 957-01xx (957-0101 東港 ... 957-0127 藤寄), not 957-02xx.
        "153079": "95701",
        "154059": "94943",
        "155811": "95932",
    }
)
"""First five digits of every postal code in the town."""

DISTRICT_POSTAL_CODES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "153079": MappingProxyType(
            {
                "諏訪山": "9570117",
                "亀塚": "9570104",
                "蓮野": "9570124",
                "網代浜": "9570103",
                "真野": "9570111",
                "次第浜": "9570105",
                "東港": "9570101",
                "位守町": "9570102",
                "蓮潟": "9570106",
                "道賀新田": "9570112",
                "上大谷内": "9570113",
                "丸潟": "9570114",
                "桃山": "9570115",
                "山倉": "9570116",
                "大夫": "9570121",
                "三賀": "9570122",
                "二本松": "9570123",
                "別條": "9570125",
                "大夫興野": "9570126",
                "藤寄": "9570127",
            }
        ),
        "154059": MappingProxyType(
            {
                "川西": "9494353",
                "尼瀬": "9494308",
                "石井町": "9494306",
                "羽黒町": "9494305",
                "米田": "9494342",
                "住吉町": "9494307",
                "井鼻": "9494302",
                "久田": "9494301",
                "木折町": "9494303",
                "鳴滝町": "9494304",
                "勝見": "9494309",
                "乙茂": "9494311",
                "大寺": "9494312",
                "滝谷": "9494316",
                "吉川": "9494317",
                "相田": "9494325",
                "稲川": "9494331",
                "小木": "9494332",
                "豊橋": "9494334",
                "船橋": "9494336",
                "田中": "9494337",
                "上中条": "9494341",
                "小竹": "9494344",
                "中山": "9494345",
                "大門": "9494352",
            }
        ),
        "155811": MappingProxyType(
            {
                "下関": "9593265",
                "上関": "9593264",
                "湯沢": "9593261",
                "高瀬": "9593263",
                "沼": "9593225",
                "辰田新": "9593271",
                "打上": "9593272",
                "南赤谷": "9593274",
                "大島": "9593241",
                "上土沢": "9593246",
                "下土沢": "9593242",
                "桂": "9593251",
                "高田": "9593252",
                "小見": "9593256",
                "滝原": "9593258",
                "松平": "9593259",
                "片貝": "9593226",
                "金丸": "9593228",
                "八ツ口": "9593227",
                "大石": "9593236",
                "安角": "9593235",
                "上川口": "9593231",
                "下川口": "9593221",
                "蔵田島": "9593232",
                "朴坂": "9593201",
            }
        ),
    }
)
"""Seven-digit postal code of each district, by town code."""

DISTRICTS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {code: tuple(codes) for code, codes in DISTRICT_POSTAL_CODES.items()}
)
"""District (大字) names of each town, in a fixed order, by town code."""

GENERIC_DISTRICTS: Final[tuple[str, ...]] = (
    "本町",
    "中町",
    "上町",
    "下町",
    "新町",
    "栄町",
    "旭町",
    "寺町",
    "東町",
    "西町",
    "南町",
    "北町",
    "緑町",
    "若葉町",
    "宮前",
    "中央",
    "新田",
    "上村",
    "下村",
    "川原",
)
"""Fallback district names for a town with no entry in ``DISTRICTS``."""

# ---------------------------------------------------------------------------
# Addresses outside the towns, for move-in and move-out history. Each names a
# real town or 丁目 area (checked against Japan Post's postal-code data); the
# generator appends the house number.
# ---------------------------------------------------------------------------

PREFECTURES_FOR_MOVES: Final[tuple[str, ...]] = (
    "新潟県新潟市北区葛塚",
    "新潟県新潟市中央区万代1丁目",
    "新潟県新潟市中央区東大通2丁目",
    "新潟県新潟市東区紫竹山3丁目",
    "新潟県新潟市西区寺尾東1丁目",
    "新潟県新潟市江南区亀田本町1丁目",
    "新潟県新発田市中央町1丁目",
    "新潟県村上市三之町",
    "新潟県胎内市新和町",
    "新潟県長岡市大手通1丁目",
    "新潟県柏崎市東本町1丁目",
    "新潟県上越市本町1丁目",
    "新潟県三条市旭町1丁目",
    "新潟県見附市昭和町1丁目",
    "新潟県阿賀野市岡山町",
    "新潟県五泉市太田",
    "新潟県南魚沼市六日町",
    "新潟県佐渡市両津湊",
    "新潟県糸魚川市寺町1丁目",
    "東京都江東区豊洲3丁目",
    "東京都世田谷区三軒茶屋2丁目",
    "東京都練馬区豊玉北1丁目",
    "東京都八王子市旭町",
    "東京都大田区蒲田4丁目",
    "神奈川県横浜市港北区日吉2丁目",
    "埼玉県さいたま市大宮区桜木町1丁目",
    "千葉県千葉市中央区富士見1丁目",
    "群馬県高崎市八島町",
    "宮城県仙台市青葉区一番町3丁目",
    "山形県米沢市金池1丁目",
    "福島県会津若松市栄町",
    "長野県長野市南石堂町",
    "富山県富山市新富町1丁目",
    "秋田県秋田市中通2丁目",
    "大阪府大阪市北区梅田1丁目",
    "愛知県名古屋市中区栄3丁目",
)

FOREIGN_COUNTRIES: Final[tuple[str, ...]] = (
    "アメリカ合衆国",
    "ブラジル",
    "中華人民共和国",
    "ベトナム",
    "フィリピン",
    "大韓民国",
    "インドネシア",
    "ネパール",
    "タイ",
    "ペルー",
    "ミャンマー",
    "スリランカ",
    "インド",
    "英国",
    "カナダ",
    "オーストラリア",
    "モンゴル",
    "バングラデシュ",
    "ロシア",
    "台湾",
)


class ForeignNames(NamedTuple):
    """Names of one nationality as a Japanese register writes them: 氏名 in the
    nationality's script (Roman letters, or kanji for China and Korea) with a katakana
    reading; (name, reading) pairs."""

    nationality: str  # 国籍・地域 as printed on 住民票
    family: tuple[tuple[str, str], ...]
    male: tuple[tuple[str, str], ...]
    female: tuple[tuple[str, str], ...]


FOREIGN_NAMES: Final[Mapping[str, ForeignNames]] = MappingProxyType(
    {
        f.nationality: f
        for f in (
            ForeignNames(
                "ベトナム",
                (
                    ("NGUYEN", "グエン"),
                    ("TRAN", "チャン"),
                    ("LE", "レ"),
                    ("PHAM", "ファム"),
                    ("HOANG", "ホアン"),
                    ("VU", "ヴー"),
                ),
                (
                    ("VAN NAM", "ヴァン　ナム"),
                    ("DUC ANH", "ドゥック　アイン"),
                    ("MINH TUAN", "ミン　トゥアン"),
                    ("VAN HUNG", "ヴァン　フン"),
                ),
                (
                    ("THI HOA", "ティ　ホア"),
                    ("THI LAN", "ティ　ラン"),
                    ("THU TRANG", "トゥー　チャン"),
                    ("NGOC ANH", "ゴック　アイン"),
                ),
            ),
            ForeignNames(
                "中国",
                (("王", "ワン"), ("李", "リ"), ("張", "チャン"), ("劉", "リウ"), ("陳", "チェン")),
                (("偉", "ウェイ"), ("磊", "レイ"), ("強", "チャン"), ("明", "ミン")),
                (("芳", "ファン"), ("静", "ジン"), ("秀英", "シウイン"), ("麗", "リー")),
            ),
            ForeignNames(
                "フィリピン",
                (
                    ("SANTOS", "サントス"),
                    ("REYES", "レイエス"),
                    ("CRUZ", "クルス"),
                    ("GARCIA", "ガルシア"),
                ),
                (("JOSE", "ホセ"), ("MARK ANTHONY", "マーク　アンソニー"), ("JOHN", "ジョン")),
                (
                    ("MARIA CRISTINA", "マリア　クリスティーナ"),
                    ("ANGELICA", "アンジェリカ"),
                    ("JOY", "ジョイ"),
                ),
            ),
            ForeignNames(
                "インドネシア",
                (("SAPUTRA", "サプトラ"), ("WIJAYA", "ウィジャヤ"), ("SETIAWAN", "セティアワン")),
                (("ADI", "アディ"), ("RIZKY", "リズキー"), ("BUDI", "ブディ")),
                (("SITI", "シティ"), ("DEWI", "デウィ"), ("PUTRI", "プトゥリ")),
            ),
            ForeignNames(
                "ネパール",
                (("GURUNG", "グルン"), ("TAMANG", "タマン"), ("SHRESTHA", "シュレスタ")),
                (("RAM", "ラム"), ("BIKASH", "ビカス"), ("SURESH", "スレシュ")),
                (("SITA", "シタ"), ("ANJALI", "アンジャリ"), ("PRIYA", "プリヤ")),
            ),
            ForeignNames(
                "ミャンマー",
                (("AUNG", "アウン"), ("KYAW", "チョー"), ("THANT", "タン")),
                (("MIN HTET", "ミン　テッ"), ("ZAW", "ゾー")),
                (("SU MYAT", "ス　ミャッ"), ("THIDA", "ティダ")),
            ),
            ForeignNames(
                "ブラジル",
                (("SILVA", "シルバ"), ("OLIVEIRA", "オリベイラ"), ("SOUZA", "ソウザ")),
                (("JOAO PAULO", "ジョアン　パウロ"), ("LUCAS", "ルーカス")),
                (("ANA PAULA", "アナ　パウラ"), ("JULIANA", "ジュリアナ")),
            ),
            ForeignNames(
                "韓国",
                (("金", "キム"), ("李", "イ"), ("朴", "パク"), ("崔", "チェ")),
                (("英洙", "ヨンス"), ("正男", "ジョンナム"), ("成浩", "ソンホ")),
                (("順子", "スンジャ"), ("英姫", "ヨンヒ"), ("明淑", "ミョンスク")),
            ),
        )
    }
)

#: Where a town's foreign workers come from (technical interns, specified skilled workers).
WORKER_NATIONALITIES: Final[tuple[tuple[str, float], ...]] = (
    ("ベトナム", 0.45),
    ("インドネシア", 0.15),
    ("中国", 0.12),
    ("フィリピン", 0.1),
    ("ネパール", 0.1),
    ("ミャンマー", 0.08),
)
#: Foreign spouses of Japanese nationals.
SPOUSE_NATIONALITIES: Final[tuple[tuple[str, float], ...]] = (
    ("フィリピン", 0.35),
    ("中国", 0.35),
    ("韓国", 0.15),
    ("ブラジル", 0.1),
    ("ベトナム", 0.05),
)
