/**
 * JSON text → value, with Go's encoding/json syntax rules and wording, so a malformed body gets the answer dockerd
 * gives (`invalid character 'x' looking for beginning of value`, `unexpected EOF`) and nesting deeper than Go's limit
 * (10000) is refused before anything recursive (JSON.stringify, structuredClone) can overflow the stack on it.
 *
 * The text is checked by a small scanner first (one pass, no recursion); only text it accepts goes to JSON.parse.
 */

/** Go's maxNestingDepth: arrays and objects nested deeper than this are a syntax error. */
export const MAX_JSON_DEPTH = 10000;

/** A syntax error, worded as Go's json.SyntaxError (or io.ErrUnexpectedEOF). */
export class JsonSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

/** Parses JSON text as Go's json.Decoder does for one value; trailing whitespace is allowed, other trailing text is not. */
export function parseJson(text: string): unknown {
  scan(text);
  return JSON.parse(text);
}

/** Go's quoteChar: the offending character as the error shows it. */
function quoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  const code = c.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, '0')}'`;
  return `'${c}'`;
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c: string) => c >= '0' && c <= '9';
const isHex = (c: string) => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

/** Validates `text` as exactly one JSON value; throws JsonSyntaxError with Go's message otherwise. */
export function scan(text: string): void {
  let i = 0;
  const n = text.length;
  // Open containers: '{' or '['. Kept as a string stack so depth costs no recursion.
  const stack: string[] = [];
  const fail = (context: string): never => {
    if (i >= n) throw new JsonSyntaxError('unexpected EOF', i);
    throw new JsonSyntaxError(`invalid character ${quoteChar(String.fromCodePoint(text.codePointAt(i)!))} ${context}`, i);
  };
  const skipSpace = () => {
    while (i < n && isSpace(text[i]!)) i++;
  };
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (i >= n || text[i] !== word[k]) fail(`in literal ${word} (expecting '${word[k]}')`);
    }
    i++;
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= n) fail('');
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        i++;
        if (i >= n) fail('');
        const e = text[i]!;
        if (e === 'u') {
          for (let k = 0; k < 4; k++) {
            i++;
            if (i >= n || !isHex(text[i]!)) fail('in \\u hexadecimal character escape');
          }
        } else if (!'"\\/bfnrt'.includes(e)) fail('in string escape code');
        i++;
        continue;
      }
      if (c < ' ') fail('in string literal');
      i++;
    }
  };
  const number = () => {
    if (text[i] === '-') {
      i++;
      if (i >= n || !isDigit(text[i]!)) fail('in numeric literal');
    }
    if (text[i] === '0') i++;
    else while (i < n && isDigit(text[i]!)) i++;
    if (text[i] === '.') {
      i++;
      if (i >= n || !isDigit(text[i]!)) fail('after decimal point in numeric literal');
      while (i < n && isDigit(text[i]!)) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (i >= n || !isDigit(text[i]!)) fail('in exponent of numeric literal');
      while (i < n && isDigit(text[i]!)) i++;
    }
  };
  const push = (c: string) => {
    if (stack.length >= MAX_JSON_DEPTH) fail('exceeded max depth');
    stack.push(c);
    i++;
  };

  // One loop over "a value is expected here" / "a value just ended" states.
  let wantValue = true;
  skipSpace();
  if (i >= n) throw new JsonSyntaxError('unexpected EOF', i);
  for (;;) {
    skipSpace();
    if (wantValue) {
      if (i >= n) fail('');
      const c = text[i]!;
      if (c === '{') {
        push('{');
        skipSpace();
        if (text[i] === '}') {
          stack.pop();
          i++;
          wantValue = false;
          continue;
        }
        if (text[i] !== '"') fail('looking for beginning of object key string');
        string();
        skipSpace();
        if (text[i] !== ':') fail('after object key');
        i++;
        continue;
      }
      if (c === '[') {
        push('[');
        skipSpace();
        if (text[i] === ']') {
          stack.pop();
          i++;
          wantValue = false;
        }
        continue;
      }
      if (c === '"') string();
      else if (c === '-' || isDigit(c)) number();
      else if (c === 't') literal('true');
      else if (c === 'f') literal('false');
      else if (c === 'n') literal('null');
      else fail('looking for beginning of value');
      wantValue = false;
      continue;
    }
    // A value ended: close containers or move to the next element.
    const top = stack[stack.length - 1];
    if (top === undefined) {
      if (i < n) fail('after top-level value');
      return;
    }
    if (i >= n) fail('');
    const c = text[i]!;
    if (top === '[') {
      if (c === ',') {
        i++;
        wantValue = true;
      } else if (c === ']') {
        stack.pop();
        i++;
      } else fail('after array element');
      continue;
    }
    if (c === ',') {
      i++;
      skipSpace();
      if (text[i] !== '"') fail('looking for beginning of object key string');
      string();
      skipSpace();
      if (text[i] !== ':') fail('after object key');
      i++;
      wantValue = true;
    } else if (c === '}') {
      stack.pop();
      i++;
    } else fail('after object key:value pair');
  }
}
