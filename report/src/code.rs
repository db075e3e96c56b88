//! The code beside the words. A lesson quotes whole items of a server's
//! source, found by name in the parsed file, so an excerpt always opens and
//! closes where the code does:
//!
//! - `item=worker`: the top-level item of that name (a `fn`, `struct`,
//!   `enum`, `const`...);
//! - `item="impl Pool"`, `item="impl Future for Accept"`: an `impl` block;
//! - `item=Pool::start`: one function of an inherent `impl` of `Pool`.
//!
//! The code pages (`docs/code/<crate>.md`) list every source file of a crate
//! whole, so that the book holds the code it teaches.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use syn::spanned::Spanned;
use syn::{ImplItem, Item};

/// The text of one item of `source`, from its first attribute or doc
/// comment to its closing brace, dedented.
pub fn excerpt(source: &str, item: &str) -> anyhow::Result<String> {
    let file = syn::parse_file(source).context("does not parse")?;
    let (first, last) = find(&file.items, item).with_context(|| format!("no item {item:?}"))?;
    let lines: Vec<&str> = source.lines().collect();
    Ok(dedent(&lines[first - 1..last]))
}

/// The first and last line (from 1) of the item named `wanted`.
fn find(items: &[Item], wanted: &str) -> Option<(usize, usize)> {
    let lines = |s: proc_macro2::Span| (s.start().line, s.end().line);
    if let Some((ty, method)) = wanted.split_once("::") {
        return items.iter().find_map(|item| match item {
            Item::Impl(i) if i.trait_.is_none() && type_name(&i.self_ty) == ty => {
                i.items.iter().find_map(|it| match it {
                    ImplItem::Fn(f) if f.sig.ident == method => Some(lines(it.span())),
                    _ => None,
                })
            }
            _ => None,
        });
    }
    if let Some(what) = wanted.strip_prefix("impl ") {
        let (of, ty) = what
            .split_once(" for ")
            .map_or((None, what), |(t, ty)| (Some(t), ty));
        return items.iter().find_map(|item| match item {
            Item::Impl(i) if type_name(&i.self_ty) == ty => {
                let trait_name = (i.trait_.as_ref())
                    .and_then(|(_, path, _)| path.segments.last())
                    .map(|s| s.ident.to_string());
                (trait_name.as_deref() == of).then(|| lines(item.span()))
            }
            _ => None,
        });
    }
    items.iter().find_map(|item| {
        let ident = match item {
            Item::Fn(i) => &i.sig.ident,
            Item::Struct(i) => &i.ident,
            Item::Enum(i) => &i.ident,
            Item::Const(i) => &i.ident,
            Item::Static(i) => &i.ident,
            Item::Type(i) => &i.ident,
            Item::Trait(i) => &i.ident,
            Item::Mod(i) => &i.ident,
            _ => return None,
        };
        (ident == wanted).then(|| lines(item.span()))
    })
}

/// The last name of a type's path: `Pool`, `Accept<'a>` → `Accept`.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => {
            (p.path.segments.last()).map_or(String::new(), |s| s.ident.to_string())
        }
        _ => String::new(),
    }
}

fn dedent(lines: &[&str]) -> String {
    let indent = (lines.iter())
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let cut: Vec<&str> = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect();
    cut.join("\n")
}

/// The source files of a crate, `main.rs` (or `lib.rs`) first, then the
/// others by path, then its examples; test modules kept in files of their
/// own are left out.
pub fn sources(root: &Path, krate: &str) -> Vec<PathBuf> {
    let walk = |dir: &Path, out: &mut Vec<PathBuf>| {
        let rust = |p: &Path| p.extension().is_some_and(|e| e == "rs") && !p.ends_with("tests.rs");
        files_under(dir, &[], &rust, out)
    };
    let mut files = Vec::new();
    walk(&root.join(krate).join("src"), &mut files);
    let first = |p: &PathBuf| !(p.ends_with("main.rs") || p.ends_with("lib.rs"));
    files.sort_by_key(|p| (first(p), p.clone()));
    let mut examples = Vec::new();
    walk(&root.join(krate).join("examples"), &mut examples);
    examples.sort();
    files.extend(examples);
    files
}

/// The files under `dir` that `keep` takes, in its sub-folders too but
/// those named in `skip`.
pub fn files_under(
    dir: &Path,
    skip: &[&str],
    keep: &dyn Fn(&Path) -> bool,
    out: &mut Vec<PathBuf>,
) {
    for path in fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
    {
        let name = path.file_name().map(|n| n.to_string_lossy().to_string());
        if path.is_dir() && !skip.contains(&name.as_deref().unwrap_or("")) {
            files_under(&path, skip, keep, out);
        } else if keep(&path) {
            out.push(path);
        }
    }
}

/// The lines of a crate's own code: neither blank nor a comment, and
/// before any `#[cfg(test)]`.
pub fn strategy_lines(root: &Path, krate: &str) -> usize {
    let count = |text: String| {
        let code = text.split("#[cfg(test)]").next().map(str::to_string);
        code.unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .count()
    };
    // Examples (bare_mio) are not the strategy.
    let src = root.join(krate).join("src");
    let files = sources(root, krate)
        .into_iter()
        .filter(|p| p.starts_with(&src));
    files
        .filter_map(|p| fs::read_to_string(p).ok())
        .map(count)
        .sum()
}

/// A file's heading on its crate's code page, its path in the crate with
/// `src/` left out (`main.rs`, `examples/bare_mio.rs`), and that heading's
/// anchor as mdBook and GitHub make it (`event_loop.rs` → `event_looprs`).
pub fn heading(file_in_crate: &str) -> (String, String) {
    let name = file_in_crate.strip_prefix("src/").unwrap_or(file_in_crate);
    let kept = name
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '));
    (
        name.to_string(),
        kept.collect::<String>().to_lowercase().replace(' ', "-"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "use x;\n\n/// Doc.\n#[inline]\nfn worker(a: u8) {\n    loop {}\n}\n\nstruct Pool;\n\nimpl Pool {\n    /// Start.\n    fn start(&self) {\n        go();\n    }\n}\n\nimpl Drop for Pool {\n    fn drop(&mut self) {}\n}\n";

    #[test]
    fn an_excerpt_is_a_whole_item_with_its_doc_comment() {
        assert_eq!(
            excerpt(SOURCE, "worker").unwrap(),
            "/// Doc.\n#[inline]\nfn worker(a: u8) {\n    loop {}\n}"
        );
        assert_eq!(
            excerpt(SOURCE, "Pool::start").unwrap(),
            "/// Start.\nfn start(&self) {\n    go();\n}"
        );
        assert!(excerpt(SOURCE, "impl Pool").unwrap().ends_with("    }\n}"));
        assert_eq!(
            excerpt(SOURCE, "impl Drop for Pool").unwrap(),
            "impl Drop for Pool {\n    fn drop(&mut self) {}\n}"
        );
        assert_eq!(excerpt(SOURCE, "Pool").unwrap(), "struct Pool;");
        assert!(excerpt(SOURCE, "nothing").is_err() && excerpt("fn (", "x").is_err());
        assert_eq!(heading("src/event_loop.rs").1, "event_looprs");
    }
}
