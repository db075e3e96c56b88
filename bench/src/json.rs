//! A tiny JSON writer: enough for the results file, nothing more.
//!
//! The harness writes its results as JSON and reads back only the one-line
//! summary that `connhold` prints, so a value tree, a pretty-printer and a
//! small reader are all it needs; that keeps the workspace free of serde.

use std::fmt::Write;

/// A JSON value. Objects keep their keys in insertion order so the file
/// reads in the order the harness builds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An empty object, to be filled with [`Json::field`].
    pub fn obj() -> Json {
        Json::Obj(Vec::new())
    }

    /// Adds a key to an object (builder style). Panics on a non-object: that
    /// is a bug in the harness, not bad input.
    pub fn field(mut self, key: &str, value: impl Into<Json>) -> Json {
        match &mut self {
            Json::Obj(fields) => fields.push((key.to_string(), value.into())),
            _ => panic!("Json::field on a non-object"),
        }
        self
    }

    /// Two-space indented text with a trailing newline.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            // JSON has no NaN or infinity; an undefined figure is null.
            Json::Num(x) if !x.is_finite() => out.push_str("null"),
            Json::Num(x) => {
                // Three decimals are more than any figure here deserves.
                let text = format!("{:.3}", x);
                let text = text.trim_end_matches('0').trim_end_matches('.');
                out.push_str(if text == "-0" { "0" } else { text });
            }
            Json::Str(s) => escape_into(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    item.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push(']');
            }
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    escape_into(out, key);
                    out.push_str(": ");
                    value.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push('}');
            }
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn escape_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}
impl From<u64> for Json {
    fn from(n: u64) -> Json {
        Json::Int(n as i64)
    }
}
impl From<u32> for Json {
    fn from(n: u32) -> Json {
        Json::Int(i64::from(n))
    }
}
impl From<usize> for Json {
    fn from(n: usize) -> Json {
        Json::Int(n as i64)
    }
}
impl From<f64> for Json {
    fn from(x: f64) -> Json {
        Json::Num(x)
    }
}
impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}
impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Json {
        v.map_or(Json::Null, Into::into)
    }
}
impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Json {
        Json::Arr(items)
    }
}

impl Json {
    /// Reads one JSON value (the whole of `text`, surrounding spaces aside).
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut reader = Reader {
            bytes: text.as_bytes(),
            at: 0,
        };
        let value = reader.value(0)?;
        reader.spaces();
        if reader.at != reader.bytes.len() {
            return Err(format!("unexpected text at byte {}", reader.at));
        }
        Ok(value)
    }

    /// The value of `key` in an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Int(n) => Some(*n as f64),
            Json::Num(x) => Some(*x),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Int(n) if *n >= 0 => Some(*n as u64),
            _ => None,
        }
    }
}

/// A recursive-descent reader over the bytes of one JSON text.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn spaces(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        self.spaces();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", byte as char, self.at))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        // Nesting is bounded, so a hostile text cannot overflow the stack.
        if depth > 32 {
            return Err("nested too deeply".to_string());
        }
        self.spaces();
        match self.bytes.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut fields = Vec::new();
                self.spaces();
                if self.bytes.get(self.at) == Some(&b'}') {
                    self.at += 1;
                    return Ok(Json::Obj(fields));
                }
                loop {
                    self.spaces();
                    let key = self.string()?;
                    self.expect(b':')?;
                    fields.push((key, self.value(depth + 1)?));
                    self.spaces();
                    match self.bytes.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Json::Obj(fields));
                        }
                        _ => return Err(format!("expected ',' or '}}' at byte {}", self.at)),
                    }
                }
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.spaces();
                if self.bytes.get(self.at) == Some(&b']') {
                    self.at += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.spaces();
                    match self.bytes.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(format!("expected ',' or ']' at byte {}", self.at)),
                    }
                }
            }
            Some(b'"') => self.string().map(Json::Str),
            Some(_) => self.word(),
            None => Err("unexpected end".to_string()),
        }
    }

    /// `null`, `true`, `false` or a number.
    fn word(&mut self) -> Result<Json, String> {
        let start = self.at;
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
        {
            self.at += 1;
        }
        let word = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or("");
        match word {
            "null" => Ok(Json::Null),
            "true" => Ok(Json::Bool(true)),
            "false" => Ok(Json::Bool(false)),
            _ => {
                if let Ok(n) = word.parse::<i64>() {
                    Ok(Json::Int(n))
                } else {
                    word.parse::<f64>()
                        .map(Json::Num)
                        .map_err(|_| format!("bad value {word:?} at byte {start}"))
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return Err(format!("expected a string at byte {}", self.at));
        }
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err("unterminated string".to_string());
            };
            self.at += 1;
            match byte {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let escaped = self.bytes.get(self.at).copied();
                    self.at += 1;
                    match escaped {
                        Some(b'n') => out.push(b'\n'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'r') => out.push(b'\r'),
                        Some(b'u') => {
                            let hex = self.bytes.get(self.at..self.at + 4).unwrap_or(b"");
                            let code = std::str::from_utf8(hex)
                                .ok()
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or("bad \\u escape")?;
                            self.at += 4;
                            let c = char::from_u32(code).unwrap_or('\u{fffd}');
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        Some(other @ (b'"' | b'\\' | b'/')) => out.push(other),
                        _ => return Err("bad escape".to_string()),
                    }
                }
                other => out.push(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let text = Json::from("a\"b\\c\nd\u{1}é").pretty();
        assert_eq!(text, "\"a\\\"b\\\\c\\nd\\u0001é\"\n");
    }

    #[test]
    fn numbers_are_short_and_never_nan() {
        let nums = Json::Arr(vec![
            Json::Num(1.5),
            Json::Num(2.0),
            Json::Num(0.0004),
            Json::Num(f64::NAN),
            Json::Int(-3),
        ]);
        assert_eq!(nums.pretty(), "[\n  1.5,\n  2,\n  0,\n  null,\n  -3\n]\n");
    }

    #[test]
    fn objects_keep_their_order_and_nest() {
        let value = Json::obj()
            .field("b", 1u64)
            .field("a", Json::obj().field("x", None::<u64>))
            .field("e", Json::Arr(vec![]))
            .field("o", Json::obj());
        assert_eq!(
            value.pretty(),
            "{\n  \"b\": 1,\n  \"a\": {\n    \"x\": null\n  },\n  \"e\": [],\n  \"o\": {}\n}\n"
        );
    }

    #[test]
    fn reads_back_what_connhold_prints() {
        let line = r#"{"target":1000,"held":996,"ramp_s":0.51,"failures":{"timeout: no answer":4},"probes":3,"probe_ms":{"p50":0.25,"p99":null,"max":1e1},"ok":true,"list":[1, "a\"b\u00e9"]}"#;
        let v = Json::parse(line).unwrap();
        assert_eq!(v.get("held").and_then(Json::as_u64), Some(996));
        assert_eq!(v.get("ramp_s").and_then(Json::as_f64), Some(0.51));
        let failures = v.get("failures").unwrap();
        assert_eq!(
            failures.get("timeout: no answer").and_then(Json::as_u64),
            Some(4)
        );
        let probe = v.get("probe_ms").unwrap();
        assert_eq!(probe.get("p99"), Some(&Json::Null));
        assert_eq!(probe.get("max").and_then(Json::as_f64), Some(10.0));
        assert_eq!(
            v.get("list"),
            Some(&Json::Arr(vec![Json::Int(1), Json::from("a\"bé")]))
        );
        for bad in ["", "{", "{\"a\" 1}", "[1,]", "nul", "\"open", "{} x"] {
            assert!(Json::parse(bad).is_err(), "{bad:?}");
        }
        // What the writer writes, the reader reads.
        let value = Json::obj().field("a", 1.5).field("b", Json::Arr(vec![]));
        assert_eq!(Json::parse(&value.pretty()).unwrap(), value);
    }
}
