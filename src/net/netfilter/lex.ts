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
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) {
      i++;
      continue;
    }
    const start = i;
    // Fast path: a bare word is one slice (this runs for every word of a 100k-rule dump).
    while (i < n) {
      const d = line.charCodeAt(i);
      if (d === 32 || d === 9 || d === 13 || d === 34) break;
      i++;
    }
    if (i >= n || line.charCodeAt(i) !== 34) {
      out.push({ text: line.slice(start, i), column: start + 1, quoted: false });
      continue;
    }
    // A word may mix bare and quoted parts (`--comment "a b"c` is one word in iptables-restore).
    let text = line.slice(start, i);
    while (i < n) {
      const d = line.charCodeAt(i);
      if (d === 32 || d === 9 || d === 13) break;
      if (d !== 34) {
        let j = i;
        // Plain comparisons: an array literal here was allocated per character of every
        // quoted word (every kube-proxy comment), most of a 10k-Service load's garbage.
        for (; j < n; j++) {
          const e = line.charCodeAt(j);
          if (e === 32 || e === 9 || e === 13 || e === 34) break;
        }
        text += line.slice(i, j);
        i = j;
        continue;
      }
      i++;
      let closed = false;
      let segStart = i;
      while (i < n) {
        const e = line.charCodeAt(i);
        if (e === 92 && i + 1 < n && (line.charCodeAt(i + 1) === 34 || line.charCodeAt(i + 1) === 92)) {
          text += line.slice(segStart, i) + line[i + 1];
          i += 2;
          segStart = i;
          continue;
        }
        if (e === 34) {
          text += line.slice(segStart, i);
          closed = true;
          i++;
          break;
        }
        i++;
      }
      if (!closed) return { error: "unterminated quoted string", column: start + 1 };
    }
    out.push({ text, column: start + 1, quoted: true });
  }
  return out;
}
