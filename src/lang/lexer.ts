// The .svcspec lexer: chevrotain token types, built once at module load.
//
// The language is line-oriented, so newlines are tokens. One Newline token swallows a run of
// line ends together with the blank and comment-only lines between them: the parser can then
// ask "is the next line an `expect`?" with a fixed lookahead of two tokens.
//
// Words: keywords are contextual — every keyword is also accepted where a name is expected (a
// pod may be called `client`), through the AnyWord category. Numbers, IPv4 addresses, CIDRs and
// `A-B` ranges are separate token types so that `10.0.0.1:80` and `node-port-range 1-65535`
// lex without whitespace; they are validated by the parser (octets, prefix, port range).

import { createToken, Lexer, type CustomPatternMatcherReturn, type ILexingResult, type IToken, type TokenType } from "chevrotain";

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

// Order matters: first match wins, with longer_alt for keyword prefixes. Longer keywords first so
// `pod-cidr` is not lexed as `pod` followed by junk.
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

/**
 * What the lexer matches: allTokens without the keywords. With the keyword patterns in order
 * before Identifier and Identifier as their longer_alt, a word is a keyword exactly when the whole
 * Identifier match is a keyword's spelling (no other pattern starts with a letter, and every
 * keyword is itself an Identifier match); so tokenize() lexes words as Identifier and looks the
 * image up. That is the same tokens as lexing with allTokens (test/lang/lexer.test.ts compares
 * them), for one regular expression per word instead of one per keyword sharing its first letter,
 * and a lexer built from 20 patterns instead of ~140 (construction was ~25 ms of start-up).
 */
export const lexerTokens: TokenType[] = allTokens.filter((t) => !keywordByType.has(t));

const lexerConfig = {
  positionTracking: "full",
  ensureOptimizations: false,
  // The token definitions' checks (unreachable patterns ...) are run by the test suite; at a
  // user's start-up they cost time for nothing (bench/ cold_start_ratio).
  skipValidations: process.env.VITEST === undefined,
} as const;

const svcspecLexer = new Lexer(lexerTokens, lexerConfig);

/** Lexes a .svcspec text: tokens with their keyword types, and chevrotain's lexing errors. */
export function tokenize(text: string): ILexingResult {
  const lexed = svcspecLexer.tokenize(text);
  for (const t of lexed.tokens) {
    if (t.tokenType !== Identifier) continue;
    const keyword = keywordBySpelling.get(t.image);
    if (keyword !== undefined) {
      t.tokenType = keyword;
      t.tokenTypeIdx = keyword.tokenTypeIdx!;
    }
  }
  return lexed;
}

/** The lexer with every keyword as its own pattern: the reference tokenize() is tested against. */
export function referenceLexer(): Lexer {
  return new Lexer(allTokens, { ...lexerConfig, skipValidations: false });
}

export type { IToken };
