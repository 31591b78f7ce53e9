// Splitting an iptables-restore line into words the way iptables-restore does: whitespace
// separates, a double-quoted string is one word (quotes removed, `\"` and `\\` unescaped), and
// every word keeps its column for error messages.

export interface Token {
  text: string;
  /** 1-based column of the word's first character (the opening quote for a quoted word). */
  column: number;
  /** The word was quoted in the source. */
  quoted: boolean;
}

export function splitWords(line: string): Token[] | { error: string; column: number } {
  const out: Token[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i]!;
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    const start = i;
    let text = "";
    let quoted = false;
    // A word may mix bare and quoted parts (`--comment "a b"c` is one word in iptables-restore).
    while (i < n && line[i] !== " " && line[i] !== "\t" && line[i] !== "\r") {
      if (line[i] === '"') {
        quoted = true;
        i++;
        let closed = false;
        while (i < n) {
          const d = line[i]!;
          if (d === "\\" && i + 1 < n && (line[i + 1] === '"' || line[i + 1] === "\\")) {
            text += line[i + 1];
            i += 2;
            continue;
          }
          if (d === '"') {
            closed = true;
            i++;
            break;
          }
          text += d;
          i++;
        }
        if (!closed) return { error: "unterminated quoted string", column: start + 1 };
      } else {
        text += line[i];
        i++;
      }
    }
    out.push({ text, column: start + 1, quoted });
  }
  return out;
}
