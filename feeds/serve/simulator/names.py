"""Invented Chinese names, phone numbers and street names for the demo county.

Everything here is made up: the demo must look like a county hall's data (so that masking,
search and keyword analysis are exercised on realistic text) without containing anyone's
real personal data. Functions take an explicit ``random.Random`` so the simulator stays
reproducible from its seed.
"""

from __future__ import annotations

import random

# Common surnames, weighted roughly by frequency in north China (王, 李, 张 lead).
SURNAMES: tuple[str, ...] = (
    "王王王李李李张张张刘刘陈陈杨杨赵赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许"
    "傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
    "顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GIVEN_NAMES: tuple[str, ...] = _words(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 霞 平 刚 秀英 桂英 建国 建华 志强 海燕 雪梅 "
    "丽娟 晓东 文博 子涵 浩然 欣怡 宇轩 梓萱 俊杰 一鸣 佳怡 思远 嘉怡 雨泽 晨曦 振华 国庆 春燕 "
    "桂兰 淑珍 玉兰 凤英 秀珍 德胜 永红 丽华 少华 慧敏 亚军 宏伟 丹丹 婷婷 鹏飞 晓燕 立新 卫东 "
    "红梅 建军 建平 俊峰 晓峰 志刚 海军 文静 晓红 利平 润生 二虎 福顺 金花 翠萍 晋生 满仓"
)

# Mobile prefixes of the three carriers: 13x, 15x, 18x as the brief asks.
PHONE_PREFIXES: tuple[str, ...] = _words(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "180 181 182 183 185 186 187 188 189"
)

ROADS: tuple[str, ...] = (
    "人民路",
    "建设路",
    "新华街",
    "东大街",
    "西大街",
    "南环路",
    "北环路",
    "迎宾路",
    "文化路",
    "冠山路",
    "嘉河路",
    "府前街",
    "青年路",
    "汇丰街",
    "锦绣路",
    "工业路",
    "车站路",
    "兴业路",
    "桥东街",
    "药岭路",
    "育才路",
    "和平街",
)

PLACES: tuple[str, ...] = (
    "农贸市场",
    "第一中学",
    "实验小学",
    "县医院",
    "汽车站",
    "人民广场",
    "文化中心",
    "供销社",
    "家属院",
    "商业街",
    "幼儿园",
    "体育场",
    "小区",
    "菜市场",
    "加油站",
    "超市",
)

VILLAGE_SYLLABLES_A = "东西南北上下前后大小新老柳杨石河沟坡岭庄"
VILLAGE_SYLLABLES_B = "关庄峪沟湾头坪岭寨峰泉河营堡"

# Invented township names for the synthetic county (codes 999001..).
GENERIC_TOWNSHIPS: tuple[str, ...] = (
    "城关镇",
    "东岭镇",
    "西河镇",
    "南川镇",
    "北坡镇",
    "石门镇",
    "柳泉镇",
    "青山乡",
    "桃园乡",
    "龙湾乡",
)


def person_name(rng: random.Random) -> str:
    """Two- or three-character names, as most residents have."""
    surname = rng.choice(SURNAMES)
    return surname + rng.choice(GIVEN_NAMES)


def phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


def village_name(rng: random.Random) -> str:
    return rng.choice(VILLAGE_SYLLABLES_A) + rng.choice(VILLAGE_SYLLABLES_B) + "村"


def community_name(rng: random.Random) -> str:
    return rng.choice(VILLAGE_SYLLABLES_A) + rng.choice(VILLAGE_SYLLABLES_B) + "社区"
