import type { SeededRandom } from './random.js';

/** The languages of the demo corpus. */
export type DemoLanguage = 'en' | 'ja';

/** The five domains of the demo corpus; `rail` is the low-resource target. */
export type DemoDomain = 'weather' | 'match' | 'product' | 'recipe' | 'rail';

/** One generated summarization pair. */
export interface DemoPair {
  /** The domain the pair belongs to. */
  readonly domain: DemoDomain;
  /** The language of both texts. */
  readonly language: DemoLanguage;
  /** The text to summarize. */
  readonly source: string;
  /** States the key facts of the source. */
  readonly summary: string;
}

/** A slot value in both languages: `[English, Japanese]`. */
type Word = readonly [string, string];

// Every name below is made up for the demo; the sentences are the project's own.
const CITIES: readonly Word[] = [
  ['Northfield', '北野'],
  ['Easton', '東浜'],
  ['Riverside', '川辺'],
  ['Hillview', '丘見'],
  ['Lakeside', '湖畔'],
  ['Portmere', '港町'],
  ['Westbrook', '西川'],
  ['Oakridge', '樫山'],
  ['Greenvale', '緑谷'],
  ['Stonebridge', '石橋'],
];
const DAYS: readonly Word[] = [
  ['Monday', '月曜'],
  ['Tuesday', '火曜'],
  ['Wednesday', '水曜'],
  ['Thursday', '木曜'],
  ['Friday', '金曜'],
  ['Saturday', '土曜'],
  ['Sunday', '日曜'],
];
const SKIES: readonly Word[] = [
  ['sunny', '晴れ'],
  ['cloudy', '曇り'],
  ['rainy', '雨'],
  ['snowy', '雪'],
  ['foggy', '霧'],
];
const WINDS: readonly Word[] = [
  ['north', '北'],
  ['south', '南'],
  ['east', '東'],
  ['west', '西'],
];
const TEAMS: readonly Word[] = [
  ['Lions', 'ライオンズ'],
  ['Falcons', 'ファルコンズ'],
  ['Rovers', 'ローバーズ'],
  ['Comets', 'コメッツ'],
  ['Tigers', 'タイガース'],
  ['Mariners', 'マリナーズ'],
];
const BRANDS: readonly Word[] = [
  ['Acorn', 'エイコーン'],
  ['Brightway', 'ブライトウェイ'],
  ['Kitelab', 'カイトラボ'],
  ['Nimbus', 'ニンバス'],
];
const PRODUCTS: readonly Word[] = [
  ['kettle', 'ケトル'],
  ['heater', 'ヒーター'],
  ['blender', 'ミキサー'],
  ['lamp', 'ライト'],
  ['fan', '扇風機'],
];
const PARTS: readonly Word[] = [
  ['switch', 'スイッチ'],
  ['cable', 'ケーブル'],
  ['lid', 'ふた'],
  ['battery', '電池'],
];
const DISHES: readonly Word[] = [
  ['pancakes', 'パンケーキ'],
  ['bread', 'パン'],
  ['pie', 'パイ'],
  ['muffins', 'マフィン'],
  ['scones', 'スコーン'],
];
const INGREDIENTS: readonly Word[] = [
  ['flour', '小麦粉'],
  ['milk', '牛乳'],
  ['eggs', '卵'],
  ['butter', 'バター'],
  ['sugar', '砂糖'],
  ['apples', 'りんご'],
];
const LINES: readonly Word[] = [
  ['Red', '赤'],
  ['Blue', '青'],
  ['Green', '緑'],
  ['Harbor', '港'],
  ['Valley', '谷'],
];
const CAUSES: readonly Word[] = [
  ['heavy rain', '大雨'],
  ['a signal fault', '信号故障'],
  ['snow', '雪'],
  ['strong wind', '強風'],
  ['track work', '線路工事'],
];

/** Fills one pair's slots from `r` and renders it in `language`. */
type Template = (r: SeededRandom, language: DemoLanguage) => { source: string; summary: string };

const lang = (language: DemoLanguage) => (w: Word) => (language === 'en' ? w[0] : w[1]);

const weather: Template = (r, language) => {
  const w = lang(language);
  const [city, day, sky, later, wind] = [r.pick(CITIES), r.pick(DAYS), ...r.pickTwo(SKIES), r.pick(WINDS)].map(w);
  const high = r.int(2, 31);
  if (language === 'en') {
    const source =
      r.next() < 0.5
        ? `${city} weather for ${day}: ${sky} in the morning, turning ${later} later. High of ${high} degrees, wind from the ${wind}.`
        : `Forecast, ${day}. Expect a ${sky} start in ${city} and a ${later} afternoon, with a high near ${high} degrees.`;
    return { source, summary: `${city}, ${day}: ${sky} then ${later}, high ${high}.` };
  }
  const source =
    r.next() < 0.5
      ? `${city}の${day}の天気は、朝は${sky}、のちに${later}。最高気温は${high}度、${wind}の風。`
      : `${day}の予報です。${city}は${sky}で始まり、午後は${later}、最高気温は${high}度の見込み。`;
  return { source, summary: `${city}、${day}は${sky}のち${later}、最高${high}度。` };
};

const match: Template = (r, language) => {
  const w = lang(language);
  const [home, away] = r.pickTwo(TEAMS).map(w);
  const [city, day] = [r.pick(CITIES), r.pick(DAYS)].map(w);
  const a = r.int(0, 5);
  let b = r.int(0, 5);
  if (a === b) b = (b + 1) % 6;
  const [winner, loser, high, low] = a > b ? [home, away, a, b] : [away, home, b, a];
  if (language === 'en') {
    const source =
      r.next() < 0.5
        ? `The ${home} hosted the ${away} in ${city} on ${day}. The ${home} scored ${a} and the ${away} scored ${b}.`
        : `On ${day} in ${city}, a tight game ended with the ${home} on ${a} and the ${away} on ${b}.`;
    return { source, summary: `The ${winner} beat the ${loser} ${high}-${low} in ${city}.` };
  }
  const source =
    r.next() < 0.5
      ? `${day}、${city}で${home}と${away}が対戦した。${home}は${a}点、${away}は${b}点だった。`
      : `${city}での${day}の試合は、${home}が${a}点、${away}が${b}点で終わった。`;
  return { source, summary: `${winner}が${loser}に${high}対${low}で勝利、${city}。` };
};

const product: Template = (r, language) => {
  const w = lang(language);
  const [brand, item, part, day] = [r.pick(BRANDS), r.pick(PRODUCTS), r.pick(PARTS), r.pick(DAYS)].map(w);
  const refund = r.int(2, 9) * 10;
  if (language === 'en') {
    const source =
      r.next() < 0.5
        ? `Notice from ${brand}: the ${item} sold since ${day} has a faulty ${part}. Bring it to a store for a refund of ${refund} dollars.`
        : `${brand} has found a problem with the ${part} of its ${item}. From ${day}, stores will refund ${refund} dollars.`;
    return { source, summary: `${brand} recalls its ${item} over the ${part}, refund ${refund} dollars.` };
  }
  const source =
    r.next() < 0.5
      ? `${brand}からのお知らせ。${day}から販売した${item}の${part}に不具合がありました。店舗で${refund}ドルを返金します。`
      : `${brand}は${item}の${part}に問題を見つけました。${day}から店舗で${refund}ドルを返金します。`;
  return { source, summary: `${brand}が${part}の不具合で${item}を回収、返金${refund}ドル。` };
};

const recipe: Template = (r, language) => {
  const w = lang(language);
  const dish = w(r.pick(DISHES));
  const [first, second] = r.pickTwo(INGREDIENTS).map(w);
  const minutes = r.int(2, 9) * 5;
  const serves = r.int(2, 8);
  if (language === 'en') {
    const source =
      r.next() < 0.5
        ? `To make ${dish}, mix the ${first} with the ${second}, then bake for ${minutes} minutes. This serves ${serves} people.`
        : `Our ${dish} for ${serves}: combine ${first} and ${second} in a bowl and bake it for ${minutes} minutes.`;
    return { source, summary: `${dish} for ${serves}: ${first} and ${second}, bake ${minutes} minutes.` };
  }
  const source =
    r.next() < 0.5
      ? `${dish}の作り方。${first}と${second}を混ぜて、${minutes}分焼きます。${serves}人分です。`
      : `${serves}人分の${dish}です。ボウルで${first}と${second}を合わせ、${minutes}分焼いてください。`;
  return { source, summary: `${dish}${serves}人分、${first}と${second}、${minutes}分焼く。` };
};

const rail: Template = (r, language) => {
  const w = lang(language);
  const [from, to] = r.pickTwo(CITIES).map(w);
  const [line, cause, day] = [r.pick(LINES), r.pick(CAUSES), r.pick(DAYS)].map(w);
  const minutes = r.int(1, 9) * 5;
  if (language === 'en') {
    const source =
      r.next() < 0.5
        ? `Service update for ${day}: trains on the ${line} line from ${from} to ${to} are ${minutes} minutes late because of ${cause}.`
        : `Because of ${cause}, the ${line} line between ${from} and ${to} is running ${minutes} minutes behind on ${day}.`;
    return { source, summary: `${line} line ${from} to ${to}: ${minutes} minutes late, ${cause}.` };
  }
  const source =
    r.next() < 0.5
      ? `${day}の運行情報です。${line}線の${from}から${to}の区間は、${cause}のため${minutes}分遅れています。`
      : `${cause}の影響で、${day}は${line}線${from}と${to}の間で${minutes}分の遅れが出ています。`;
  return { source, summary: `${line}線${from}から${to}、${cause}で${minutes}分遅れ。` };
};

const TEMPLATES: Readonly<Record<DemoDomain, Template>> = { weather, match, product, recipe, rail };

/** The domains with plenty of data, whose LoRAs the target is merged with. */
export const RELATED_DOMAINS: readonly DemoDomain[] = ['weather', 'match', 'product', 'recipe'];

/** The low-resource target domain: train-service updates. */
export const TARGET_DOMAIN: DemoDomain = 'rail';

/**
 * `count` pairs of `domain` in `language`, drawn from the seeded stream
 * named after the domain, the language and `split` (so each split is its
 * own deterministic sequence).
 */
export function generatePairs(random: (name: string) => SeededRandom, domain: DemoDomain, language: DemoLanguage, split: string, count: number): DemoPair[] {
  const r = random(`demo/${split}/${domain}/${language}`);
  return Array.from({ length: count }, () => ({ domain, language, ...TEMPLATES[domain](r, language) }));
}
