// The .svcspec lexer: chevrotain token types (the parser's vocabulary, built once at module load)
// and tokenize(), which lexes by chevrotain's rules without building a chevrotain Lexer.
//
// The language is line-oriented, so newlines are tokens. One Newline token swallows a run of
// line ends together with the blank and comment-only lines between them: the parser can then
// ask "is the next line an `expect`?" with a fixed lookahead of two tokens.
//
// Words: keywords are contextual — every keyword is also accepted where a name is expected (a
// pod may be called `client`), through the AnyWord category. Numbers, IPv4 addresses, CIDRs and
// `A-B` ranges are separate token types so that `10.0.0.1:80` and `node-port-range 1-65535`
// lex without whitespace; they are validated by the parser (octets, prefix, port range).

import {
  createToken,
  defaultLexerErrorProvider,
  Lexer,
  type CustomPatternMatcherReturn,
  type ILexingError,
  type ILexingResult,
  type IToken,
  type TokenType,
} from "chevrotain";

/** Characters that continue a word. `-` continues it unless it starts `->`. */
const WORD_CONT = String.raw`(?:[A-Za-z0-9_.]|-(?!>))`;
const NOT_WORD_CONT = String.raw`(?![A-Za-z0-9_]|-(?!>))`;

/** Every word-like token (keywords and identifiers): what a name position accepts. */
export const AnyWord = createToken({ name: "AnyWord", pattern: Lexer.NA, label: "a name" });
/** Every token that may start an unrecognised line (everything but a newline and `}`). */
export const LineToken = createToken({ name: "LineToken", pattern: Lexer.NA, label: "a statement" });

export const Newline = createToken({
  name: "Newline",
  pattern: /(?:[ \t]*(?:#[^\n]*)?\r?\n)+/,
  line_breaks: true,
  label: "end of line",
});
export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t]+/, group: Lexer.SKIPPED });
/** A comment on the last line of a file that has no final newline. */
export const Comment = createToken({ name: "Comment", pattern: /#[^\n]*/, group: Lexer.SKIPPED });

export interface HeredocPayload {
  tag: string;
  /** Offset of the tag's first character (after `<<`). */
  tagOffset: number;
  body: string;
  /** 0-based offset of the body's first character. */
  bodyOffset: number;
  terminated: boolean;
}

/**
 * `<<TAG` up to a line holding only TAG (indentation allowed). The token's image spans the
 * opener, the body and the closing tag; the body travels in the payload. When the closing line
 * never comes, the token runs to the end of the file and says so (`terminated: false`): the
 * parser reports it at the opener, where the user has to look.
 */
function matchHeredoc(text: string, offset: number): CustomPatternMatcherReturn | null {
  if (text.charCodeAt(offset) !== 60 || text.charCodeAt(offset + 1) !== 60) return null;
  const head = /<<([A-Za-z_][A-Za-z0-9_-]*)[ \t]*(?:#[^\n]*)?\r?\n/y;
  head.lastIndex = offset;
  const m = head.exec(text);
  if (!m) return null;
  const tag = m[1]!;
  const bodyOffset = head.lastIndex;
  let lineStart = bodyOffset;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd).replace(/\r$/, "");
    if (line.trim() === tag) {
      const tagEnd = lineStart + line.length;
      const bodyEnd = Math.max(bodyOffset, lineStart - 1); // drop the newline before the closing line
      let body = text.slice(bodyOffset, bodyEnd);
      if (body.endsWith("\r")) body = body.slice(0, -1);
      const result: CustomPatternMatcherReturn = [text.slice(offset, tagEnd)];
      result.payload = { tag, tagOffset: offset + 2, body, bodyOffset, terminated: true } satisfies HeredocPayload;
      return result;
    }
    lineStart = lineEnd + 1;
  }
  // Unterminated: take everything except the final newline, so the statement still ends.
  const end = text.endsWith("\n") ? text.length - 1 : text.length;
  const result: CustomPatternMatcherReturn = [text.slice(offset, end)];
  result.payload = { tag, tagOffset: offset + 2, body: text.slice(bodyOffset, end), bodyOffset, terminated: false } satisfies HeredocPayload;
  return result;
}

export const Heredoc = createToken({
  name: "Heredoc",
  pattern: { exec: matchHeredoc },
  line_breaks: true,
  start_chars_hint: ["<"],
  label: "a heredoc (`<<TAG`)",
  categories: [LineToken],
});

export const StringLiteral = createToken({
  name: "StringLiteral",
  pattern: /"(?:[^"\\\n]|\\.)*"/,
  label: "a quoted string",
  categories: [LineToken],
});
/** A string missing its closing quote on the line: lexed so the parser can say exactly that. */
export const UnterminatedString = createToken({
  name: "UnterminatedString",
  pattern: /"(?:[^"\\\n]|\\.)*/,
  label: "a quoted string",
  categories: [LineToken],
});

export const Cidr = createToken({
  name: "Cidr",
  pattern: new RegExp(String.raw`\d+(?:\.\d+)+\/\d*` + NOT_WORD_CONT),
  label: "a CIDR",
  categories: [LineToken],
});
export const IpAddress = createToken({
  name: "IpAddress",
  pattern: new RegExp(String.raw`\d+(?:\.\d+)+(?![A-Za-z0-9_.\/]|-(?!>))`),
  label: "an IPv4 address",
  categories: [LineToken],
});
export const Range = createToken({
  name: "Range",
  pattern: new RegExp(String.raw`\d+-\d+` + NOT_WORD_CONT),
  label: "a range `A-B`",
  categories: [LineToken],
});
export const NumberLiteral = createToken({
  name: "NumberLiteral",
  pattern: new RegExp(String.raw`\d+(?![A-Za-z0-9_.]|-(?!>))`),
  label: "a number",
  categories: [LineToken],
});
export const Identifier = createToken({
  name: "Identifier",
  pattern: new RegExp(String.raw`[A-Za-z0-9_]` + WORD_CONT + "*"),
  label: "a name",
  categories: [AnyWord, LineToken],
});

export const Arrow = createToken({ name: "Arrow", pattern: "->", label: "`->`", categories: [LineToken] });
export const LBrace = createToken({ name: "LBrace", pattern: "{", label: "`{`", categories: [LineToken] });
export const RBrace = createToken({ name: "RBrace", pattern: "}", label: "`}`" });
export const Comma = createToken({ name: "Comma", pattern: ",", label: "`,`", categories: [LineToken] });
export const Colon = createToken({ name: "Colon", pattern: ":", label: "`:`", categories: [LineToken] });
export const Equals = createToken({ name: "Equals", pattern: "=", label: "`=`", categories: [LineToken] });
export const Slash = createToken({ name: "Slash", pattern: "/", label: "`/`", categories: [LineToken] });

const KEYWORD_WORDS = [
  // top level
  "spec", "cluster", "service", "apply", "scenario", "tags",
  // cluster settings and their values
  "pod-cidr", "service-cidr", "node-port-range", "proxy-mode", "masquerade-all", "masquerade",
  "hairpin-mode", "br-netfilter", "cloud-provider", "lb-pool", "cluster-domain", "localhost-nodeports",
  "nodeport-addresses", "node-network", "router", "kube-dns", "iptables", "on", "off", "hairpin-veth",
  "promiscuous-bridge", "none",
  // hosts
  "node", "pod", "deployment", "client", "route", "namespace", "ip", "labels", "listen", "not-ready",
  "replicas", "via",
  // service fields and their values
  "selector", "port", "cluster-ip", "external-traffic-policy", "internal-traffic-policy", "external-ips",
  "external-name", "load-balancer-ip", "load-balancer-source-ranges", "health-check-node-port",
  "session-affinity", "timeout", "publish-not-ready-addresses", "node-port", "type", "ClusterIP", "NodePort",
  "LoadBalancer", "ExternalName", "Cluster", "Local", "None", "ClientIP", "tcp", "udp",
  // scenarios
  "send", "trace", "from", "to", "lb", "resolve", "nslookup", "show", "nat", "filter", "endpoints",
  "services", "routes", "conntrack", "hairpin", "bridge", "pods", "expect", "always", "sometimes", "never",
  "connected", "dropped", "rejected", "refused", "unreachable", "reply-from", "delivered-to", "any-of",
  "source-seen", "masqueraded", "answer", "cname", "nxdomain", "fails", "contains", "lines", "set", "ready",
  "delete", "stop", "kube-proxy", "fail",
] as const;

export type KeywordWord = (typeof KEYWORD_WORDS)[number];

function keywordTokenName(word: string): string {
  return "Kw_" + word.replace(/-/g, "_");
}

/** The keyword token types, by their spelling. */
export const KW = Object.fromEntries(
  KEYWORD_WORDS.map((w) => [
    w,
    createToken({
      name: keywordTokenName(w),
      // Protocols are also accepted as Kubernetes spells them (TCP, UDP).
      pattern: w === "tcp" || w === "udp" ? new RegExp(`${w}|${w.toUpperCase()}`) : w,
      // A keyword that is only the start of a longer word (`pod` in `pods`, `pod-1`) is a name.
      longer_alt: Identifier,
      label: "`" + w + "`",
    }),
  ]),
) as Record<KeywordWord, TokenType>;
// Every keyword is AnyWord and LineToken. Given to createToken, the categories cost a rebuild of
// both categories' member lists per keyword (~130², ~30 ms of start-up); set afterwards, chevrotain
// fills the lists once when the parser is built from allTokens (as does referenceLexer).
for (const t of Object.values(KW)) t.CATEGORIES = [AnyWord, LineToken];

/** The spelling of a keyword token, or undefined for other tokens. */
const keywordByType = new Map<TokenType, string>(Object.entries(KW).map(([w, t]) => [t, w]));
export const keywordOf = (t: TokenType): string | undefined => keywordByType.get(t);

/** Keyword token types by every spelling the keyword patterns above accept (`tcp` and `TCP`). */
const keywordBySpelling = new Map<string, TokenType>(
  KEYWORD_WORDS.flatMap((w): [string, TokenType][] => (w === "tcp" || w === "udp" ? [[w, KW[w]], [w.toUpperCase(), KW[w]]] : [[w, KW[w]]])),
);

// Order matters to chevrotain's lexer (which tokenize() follows): first match wins, with longer_alt
// for keyword prefixes. Longer keywords first so `pod-cidr` is not lexed as `pod` followed by junk.
const keywordTokens = [...KEYWORD_WORDS].sort((a, b) => b.length - a.length).map((w) => KW[w]);

/** Every token type of the language, in matching order: the parser's vocabulary. */
export const allTokens: TokenType[] = [
  Newline,
  WhiteSpace,
  Comment,
  Heredoc,
  StringLiteral,
  UnterminatedString,
  Cidr,
  IpAddress,
  Range,
  NumberLiteral,
  Arrow,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Equals,
  Slash,
  ...keywordTokens,
  Identifier,
  AnyWord,
  LineToken,
];

// ---- tokenize() ---------------------------------------------------------------------------
//
// The lexer is hand-written: building chevrotain's Lexer (pattern analysis, a 64k-entry char
// table) was ~25 ms of every run's start-up, and its generic loop is several times slower than
// this one. It yields exactly what chevrotain's Lexer yields for allTokens (tokens with type,
// image, offsets, lines, columns and payload; errors with offset, line, column, length and
// message): test/lang/lexer.test.ts compares the two on every lesson file and on random text.
//
// chevrotain's rules, as they apply to these patterns:
// - At each offset the patterns that can start with that character are tried in allTokens order;
//   the first that matches wins (the same patterns, sticky, below).
// - A keyword pattern wins only when its Identifier longer_alt is no longer, that is when the
//   whole Identifier match is the keyword's spelling (no other pattern starts with a letter, and
//   every keyword is itself an Identifier match): so words are matched as Identifier and their
//   image looked up.
// - WhiteSpace and Comment are skipped. Newline and Heredoc may span lines: their line ends
//   (\n, \r\n or a lone \r) move the line and column on and set the token's end position.
// - Where nothing matches, characters are skipped up to the next offset where something does,
//   and one error covers them.

const sticky = (t: TokenType): RegExp => new RegExp((t.PATTERN as RegExp).source, "y");
const NEWLINE = sticky(Newline);
const WHITESPACE = sticky(WhiteSpace);
const COMMENT = sticky(Comment);
const STRING = sticky(StringLiteral);
const UNTERMINATED_STRING = sticky(UnterminatedString);
const CIDR = sticky(Cidr);
const IP_ADDRESS = sticky(IpAddress);
const RANGE = sticky(Range);
const NUMBER = sticky(NumberLiteral);
const IDENTIFIER = sticky(Identifier);

const SINGLE_CHAR_TOKENS = new Map<number, TokenType>([
  [123, LBrace],
  [125, RBrace],
  [44, Comma],
  [58, Colon],
  [61, Equals],
  [47, Slash],
]);

/** The length of `re`'s match at `offset`, or 0. (No pattern here matches the empty string.) */
function matchLength(re: RegExp, text: string, offset: number): number {
  re.lastIndex = offset;
  return re.test(text) ? re.lastIndex - offset : 0;
}

// What matchAt found (module state rather than an object per token).
let matchedType: TokenType = Identifier;
let matchedLength = 0;
let matchedPayload: HeredocPayload | undefined;

/** [A-Za-z0-9_.] */
const isWordChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46;

// Keyword spellings as a trie over word characters, walked while a word is scanned: a word's
// keyword (and the keyword's own image string) is known at its end, without the substring and
// the string hash a Map lookup by image costs (≈ 4 % of a parse; keywords are half the words).

/** Each word character's column in the trie (1-65: [A-Za-z0-9_.-]); 0 for any other character. */
const WORD_COLUMN = new Uint8Array(128);
{
  let col = 1;
  for (let c = 0; c < 128; c++) if (isWordChar(c) || c === 45) WORD_COLUMN[c] = col++;
}
const TRIE_WIDTH = 66;
/** Transitions: state × column → next state; 0 is "no keyword begins so". The root is state 1. */
let trie = new Int32Array(TRIE_WIDTH * 2);
let trieStates = 2;
/** The keyword spelt by the path to each state (its type, and the spelling as the token's image). */
const keywordAtState: Array<{ type: TokenType; image: string } | undefined> = [];
for (const [spelling, type] of keywordBySpelling) {
  let state = 1;
  for (let i = 0; i < spelling.length; i++) {
    const at = state * TRIE_WIDTH + WORD_COLUMN[spelling.charCodeAt(i)]!;
    if (trie[at] === 0) {
      if ((trieStates + 1) * TRIE_WIDTH > trie.length) {
        const grown = new Int32Array(trie.length * 2);
        grown.set(trie);
        trie = grown;
      }
      trie[at] = trieStates++;
    }
    state = trie[at]!;
  }
  keywordAtState[state] = { type, image: spelling };
}

/** The trie state at the end of the last word wordEnd scanned (0: not a keyword's prefix). */
let wordState = 0;

/**
 * The end of the Identifier match that starts at `offset` with a word character: the pattern
 * [A-Za-z0-9_](?:[A-Za-z0-9_.]|-(?!>))* scanned by hand (most tokens are words, and a sticky
 * regular expression per word cost more than the scan). Leaves the word's trie state in wordState.
 */
function wordEnd(text: string, offset: number): number {
  let state = trie[TRIE_WIDTH + WORD_COLUMN[text.charCodeAt(offset)]!]!;
  let i = offset + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (isWordChar(c) || (c === 45 && text.charCodeAt(i + 1) !== 62)) {
      if (state !== 0) state = trie[state * TRIE_WIDTH + WORD_COLUMN[c]!]!;
      i++;
    } else {
      wordState = state;
      return i;
    }
  }
}

/** Finds the token at `offset` by chevrotain's rules (see above); false when nothing matches. */
function matchAt(text: string, offset: number): boolean {
  const c = text.charCodeAt(offset);
  let n = 0;
  matchedPayload = undefined;
  wordState = 0;
  if (c === 32 || c === 9) {
    // Blanks are a Newline only when a comment or a line end follows them: otherwise they are
    // WhiteSpace, found without the two regular expressions.
    let end = offset + 1;
    let d = text.charCodeAt(end);
    while (d === 32 || d === 9) d = text.charCodeAt(++end);
    if (d !== 35 && d !== 13 && d !== 10) {
      matchedType = WhiteSpace;
      matchedLength = end - offset;
      return true;
    }
    if ((n = matchLength(NEWLINE, text, offset)) > 0) matchedType = Newline;
    else if ((n = matchLength(WHITESPACE, text, offset)) > 0) matchedType = WhiteSpace;
  } else if (c === 35) {
    if ((n = matchLength(NEWLINE, text, offset)) > 0) matchedType = Newline;
    else if ((n = matchLength(COMMENT, text, offset)) > 0) matchedType = Comment;
  } else if (c === 10 || c === 13) {
    if ((n = matchLength(NEWLINE, text, offset)) > 0) matchedType = Newline;
  } else if (c >= 48 && c <= 57) {
    // Digits followed by none of [A-Za-z_.-] can only be a NumberLiteral (Cidr and IpAddress
    // need a `.`, Range a `-`, and NumberLiteral's lookahead then holds): no regular expression.
    let end = offset + 1;
    let d = text.charCodeAt(end);
    while (d >= 48 && d <= 57) d = text.charCodeAt(++end);
    if (!((d >= 97 && d <= 122) || (d >= 65 && d <= 90) || d === 95 || d === 46 || d === 45)) {
      matchedType = NumberLiteral;
      matchedLength = end - offset;
      return true;
    }
    if ((n = matchLength(CIDR, text, offset)) > 0) matchedType = Cidr;
    else if ((n = matchLength(IP_ADDRESS, text, offset)) > 0) matchedType = IpAddress;
    else if ((n = matchLength(RANGE, text, offset)) > 0) matchedType = Range;
    else if ((n = matchLength(NUMBER, text, offset)) > 0) matchedType = NumberLiteral;
    else if ((n = matchLength(IDENTIFIER, text, offset)) > 0) matchedType = Identifier;
  } else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) {
    n = wordEnd(text, offset) - offset;
    matchedType = Identifier;
  } else if (c === 34) {
    if ((n = matchLength(STRING, text, offset)) > 0) matchedType = StringLiteral;
    else if ((n = matchLength(UNTERMINATED_STRING, text, offset)) > 0) matchedType = UnterminatedString;
  } else if (c === 60) {
    const m = matchHeredoc(text, offset);
    if (m !== null) {
      n = m[0].length;
      matchedType = Heredoc;
      matchedPayload = m.payload as HeredocPayload;
    }
  } else if (c === 45) {
    if (text.charCodeAt(offset + 1) === 62) {
      n = 2;
      matchedType = Arrow;
    }
  } else {
    const single = SINGLE_CHAR_TOKENS.get(c);
    if (single !== undefined) {
      n = 1;
      matchedType = single;
    }
  }
  matchedLength = n;
  return n > 0;
}

/** How many token objects a pool keeps for the next text (≈ 100 bytes each; a 5 kB spec has ≈ 1,800). */
const POOL_LIMIT = 50_000;

/** A new token. Every token carries a `payload` field (undefined but for heredocs): one shape. */
function newToken(image: string, offset: number, n: number, line: number, column: number, tokenType: TokenType, payload: unknown): IToken {
  return {
    image,
    startOffset: offset,
    endOffset: offset + n - 1,
    startLine: line,
    endLine: line,
    startColumn: column,
    endColumn: column + n - 1,
    tokenTypeIdx: tokenType.tokenTypeIdx!,
    tokenType,
    payload,
  };
}

/**
 * Lexes a .svcspec text: what chevrotain's Lexer over allTokens yields (see above).
 *
 * With a `pool`, the token objects of the previous call on that pool are reused (and the pool
 * grows to the longest text's token count, up to POOL_LIMIT): the previous call's tokens are then
 * no longer valid. parse() passes one, since nothing keeps a token after a parse; the token objects
 * were the largest garbage of a run (24 MB in the 100-file bench suite).
 */
export function tokenize(text: string, pool?: IToken[]): ILexingResult {
  const tokens: IToken[] = [];
  const errors: ILexingError[] = [];
  const length = text.length;
  let offset = 0;
  let line = 1;
  let column = 1;
  while (offset < length) {
    if (!matchAt(text, offset)) {
      const start = offset;
      do offset++;
      while (offset < length && !matchAt(text, offset));
      const skipped = offset - start;
      const message = defaultLexerErrorProvider.buildUnexpectedCharactersMessage(text, start, skipped, line, column);
      errors.push({ offset: start, line, column, length: skipped, message });
      column += skipped;
      continue;
    }
    const n = matchedLength;
    const type = matchedType;
    if (type === WhiteSpace || type === Comment) {
      offset += n;
      column += n;
      continue;
    }
    const keyword = type === Identifier && wordState !== 0 ? keywordAtState[wordState] : undefined;
    const image = keyword !== undefined ? keyword.image : text.substring(offset, offset + n);
    const tokenType = keyword !== undefined ? keyword.type : type;
    let token: IToken;
    if (pool === undefined) {
      token = newToken(image, offset, n, line, column, tokenType, matchedPayload);
    } else {
      const reused = pool[tokens.length];
      if (reused === undefined) {
        token = newToken(image, offset, n, line, column, tokenType, matchedPayload);
        if (pool.length < POOL_LIMIT) pool.push(token);
      } else {
        token = reused;
        token.image = image;
        token.startOffset = offset;
        token.endOffset = offset + n - 1;
        token.startLine = line;
        token.endLine = line;
        token.startColumn = column;
        token.endColumn = column + n - 1;
        token.tokenTypeIdx = tokenType.tokenTypeIdx!;
        token.tokenType = tokenType;
        token.payload = matchedPayload;
      }
    }
    tokens.push(token);
    offset += n;
    if (type !== Newline && type !== Heredoc) {
      column += n;
      continue;
    }
    let lineEnds = 0;
    let lastLineEnd = -1; // index in the image of the last line end's last character
    for (let i = 0; i < n; i++) {
      const ch = image.charCodeAt(i);
      if (ch === 10) {
        lineEnds++;
        lastLineEnd = i;
      } else if (ch === 13) {
        lineEnds++;
        if (image.charCodeAt(i + 1) === 10) i++;
        lastLineEnd = i;
      }
    }
    if (lineEnds === 0) {
      column += n;
      continue;
    }
    line += lineEnds;
    column = n - lastLineEnd;
    const endsWithLineEnd = lastLineEnd === n - 1;
    // A token ending in its only line end keeps its end on its first line.
    if (!(lineEnds === 1 && endsWithLineEnd)) {
      token.endLine = endsWithLineEnd ? line - 1 : line;
      token.endColumn = endsWithLineEnd ? column : column - 1;
    }
  }
  return { tokens, groups: {}, errors };
}

/** The lexer with every keyword as its own pattern: the reference tokenize() is tested against. */
export function referenceLexer(): Lexer {
  return new Lexer(allTokens, { positionTracking: "full", ensureOptimizations: false });
}

export type { IToken };
