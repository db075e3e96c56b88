//! The generated blocks of a page, and its claims.
//!
//! A page asks for a generated block by name, with arguments, and the
//! rewrite fills in what lies between the markers; everything outside them
//! stays byte for byte as it was written by hand:
//!
//! ```text
//! <!-- bench:start server=prefork_server previous=cgi_threading_server -->
//! (generated)
//! <!-- bench:end -->
//! ```
//!
//! A block may also sit inside a sentence (`fig`, a single figure). A claim
//! is a comment beside the sentence it checks, an expression over the
//! results that must hold: `<!-- claim: bench.cpu.percore_server.rps > 1.5 *
//! bench.cpu.multiplexingio_server.rps -->`.

use std::collections::BTreeMap;

/// One generated block of a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub name: String,
    /// The text after `NAME:start`, as written.
    pub args: String,
    /// Byte range of what lies between the two markers.
    pub body: std::ops::Range<usize>,
    pub line: usize,
}

impl Block {
    /// `key=value` arguments; a value may be quoted to hold spaces.
    pub fn named(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        let mut rest = self.args.trim();
        while !rest.is_empty() {
            let (key, after) = rest
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("argument without `=` in {:?}", self.args))?;
            let (value, after) = match after.strip_prefix('"') {
                Some(quoted) => quoted
                    .split_once('"')
                    .ok_or_else(|| anyhow::anyhow!("unclosed quote in {:?}", self.args))?,
                None => after.split_once(' ').unwrap_or((after, "")),
            };
            out.insert(key.trim().to_string(), value.to_string());
            rest = after.trim_start();
        }
        Ok(out)
    }
}

/// A claim of the prose: where it is, and the expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub line: usize,
    pub expr: String,
}

fn line_of(page: &str, at: usize) -> usize {
    page[..at].matches('\n').count() + 1
}

/// The blocks of a page, in order. A start without its end, or a block
/// inside another, is an error: the rewrite would eat hand-written text.
pub fn blocks(page: &str) -> anyhow::Result<Vec<Block>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = page[from..].find("<!-- ").map(|i| i + from) {
        let Some(close) = page[at..].find("-->").map(|i| i + at) else {
            anyhow::bail!("line {}: a comment that never closes", line_of(page, at));
        };
        let inner = page[at + 5..close].trim();
        from = close + 3;
        let Some((name, args)) = inner.split_once(":start").filter(|(n, _)| is_name(n)) else {
            if let Some(name) = inner.strip_suffix(":end").filter(|n| is_name(n)) {
                anyhow::bail!("line {}: {name}:end without a start", line_of(page, at));
            }
            continue;
        };
        let end = format!("<!-- {name}:end -->");
        let Some(stop) = page[from..].find(&end).map(|i| i + from) else {
            anyhow::bail!("line {}: {name}:start without its end", line_of(page, at));
        };
        let body = &page[from..stop];
        let nested = body.match_indices("<!-- ").find(|(i, _)| {
            let rest = &body[i + 5..];
            rest.split_once(":start").is_some_and(|(n, _)| is_name(n))
        });
        if let Some((inner, _)) = nested {
            anyhow::bail!(
                "line {}: a block inside {name}",
                line_of(page, from + inner)
            );
        }
        found.push(Block {
            name: name.to_string(),
            args: args.trim().to_string(),
            body: from..stop,
            line: line_of(page, at),
        });
        from = stop + end.len();
    }
    Ok(found)
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && (name.bytes()).all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The page with each block's body replaced by `render(block)`. A block that
/// spans lines keeps its markers on lines of their own.
pub fn rewrite(
    page: &str,
    mut render: impl FnMut(&Block) -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut from = 0;
    for block in blocks(page)? {
        let body = render(&block)
            .map_err(|e| anyhow::anyhow!("line {}: {}: {e:#}", block.line, block.name))?;
        out.push_str(&page[from..block.body.start]);
        if page[block.body.clone()].contains('\n') || body.contains('\n') {
            out.push('\n');
            out.push_str(body.trim_matches('\n'));
            out.push('\n');
        } else {
            out.push_str(&body);
        }
        from = block.body.end;
    }
    out.push_str(&page[from..]);
    Ok(out)
}

/// The claims of a page.
pub fn claims(page: &str) -> Vec<Claim> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = page[from..].find("<!-- claim:").map(|i| i + from) {
        let Some(close) = page[at..].find("-->").map(|i| i + at) else {
            break;
        };
        let expr = page[at + "<!-- claim:".len()..close].split_whitespace();
        found.push(Claim {
            line: line_of(page, at),
            expr: expr.collect::<Vec<_>>().join(" "),
        });
        from = close;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_with_their_arguments_and_only_their_bodies_change() {
        let page = "# T\n<!-- bench:start server=a previous=\"b c\" -->\nold\n<!-- bench:end -->\n\
                    It did <!-- fig:start x.y | rate -->12<!-- fig:end --> a second.\n";
        let found = blocks(page).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].line, found[1].args.as_str()), (2, "x.y | rate"));
        let args = found[0].named().unwrap();
        assert_eq!(
            (args["server"].as_str(), args["previous"].as_str()),
            ("a", "b c")
        );
        let new = rewrite(page, |b| Ok(format!("{}!", b.name))).unwrap();
        assert_eq!(
            new,
            "# T\n<!-- bench:start server=a previous=\"b c\" -->\nbench!\n<!-- bench:end -->\n\
             It did <!-- fig:start x.y | rate -->fig!<!-- fig:end --> a second.\n"
        );
        assert_eq!(rewrite(&new, |b| Ok(format!("{}!", b.name))).unwrap(), new);
        for bad in [
            "<!-- a:start -->",
            "<!-- a:end -->",
            "<!-- a:start --><!-- b:start --><!-- b:end --><!-- a:end -->",
        ] {
            assert!(blocks(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn claims_are_found_with_their_lines() {
        let page = "One.\nTwo <!-- claim: a.b >\n  2 * c -->. Three <!-- other -->\n";
        assert_eq!(
            claims(page),
            [Claim {
                line: 2,
                expr: "a.b > 2 * c".into()
            }]
        );
    }
}
