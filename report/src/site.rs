//! Every generated part of docs/ at once: the blocks of every page, the
//! charts they ask for, and the claims of the prose checked against the
//! results. `bench pages` runs this from the committed results; each harness
//! runs it after writing its file; the test
//! `the_committed_results_give_the_committed_pages` checks that the
//! committed pages are what it makes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use minijinja::Environment;
use minijinja::value::{Value, merge_maps};
use results::json::{create_dir, write_json};
use results::scenario::SERVERS;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::blocks::{self, Block};
use crate::charts::{self, Chart};
use crate::data::{self, Inputs};
use crate::{claims, code, templates};

/// Folders of docs/ that hold no pages.
const NOT_PAGES: [&str; 3] = ["book", "results", "charts"];

/// The pages under `dir` (its Markdown files, in sub-folders too), sorted.
pub fn pages(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let markdown = |p: &Path| p.extension().is_some_and(|e| e == "md");
    code::files_under(dir, &NOT_PAGES, &markdown, &mut out);
    out.sort();
    out
}

/// What makes the pages: the templates, the results tree (as values for
/// the templates and as JSON for the charts), and where the sources are.
pub struct Site {
    env: Environment<'static>,
    tree: Value,
    json: serde_json::Value,
    root: PathBuf,
}

impl Site {
    /// The site of the results in `results` (the first folder that has a
    /// file wins) and the sources under `root`.
    pub fn new(root: &Path, results: &[PathBuf]) -> anyhow::Result<Site> {
        let mut inputs = Inputs::load(results)?;
        Ok(Site::of(root, &mut inputs))
    }

    /// The site of `inputs`; the lines of each server's code are counted
    /// under `root` unless `inputs` has them already.
    pub fn of(root: &Path, inputs: &mut Inputs) -> Site {
        if inputs.lines.is_empty() {
            inputs.lines = (SERVERS.iter())
                .map(|s| (s.to_string(), code::strategy_lines(root, s)))
                .collect();
        }
        let json = data::tree(inputs);
        let mut env = templates::environment();
        claims::add_helpers(&mut env);
        Site {
            env,
            tree: Value::from_serialize(&json),
            json,
            root: root.to_path_buf(),
        }
    }

    /// The page as its blocks make it, and the charts it asks for.
    /// `depth` is how many folders below docs/ the page lies.
    pub fn render_page(&self, page: &str, depth: usize) -> anyhow::Result<(String, Vec<Chart>)> {
        let mut charts = Vec::new();
        let text = blocks::rewrite(page, |block| {
            self.render(block, &"../".repeat(depth), &mut charts)
        })?;
        Ok((text, charts))
    }

    fn render(&self, block: &Block, up: &str, charts: &mut Vec<Chart>) -> anyhow::Result<String> {
        if block.name == "fig" {
            let expr = self.env.compile_expression(&block.args)?;
            return Ok(expr.eval(&self.tree)?.to_string());
        }
        let args = block.named()?;
        let arg = |k: &str| {
            args.get(k)
                .map(String::as_str)
                .with_context(|| format!("no {k}="))
        };
        let mut vars: BTreeMap<String, Value> = args
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        vars.insert("root".into(), Value::from(up));
        match block.name.as_str() {
            "chart" => {
                let chart = charts::draw(&args, &self.json)?;
                vars.insert("title".into(), Value::from(chart.title.as_str()));
                vars.insert(
                    "path".into(),
                    Value::from(format!("{up}charts/{}", chart.file)),
                );
                charts.push(chart);
            }
            "code" => {
                let file = arg("file")?;
                let source = fs::read_to_string(self.root.join(file))
                    .with_context(|| format!("cannot read {file}"))?;
                let text = code::excerpt(&source, arg("item")?).context(file.to_string())?;
                let (krate, name) = file.split_once('/').context("not a crate's file")?;
                let link = format!("{up}code/{krate}.md#{}", code::heading(name).1);
                vars.insert("text".into(), Value::from(text));
                vars.insert("link".into(), Value::from(link));
            }
            "source" => {
                let krate = arg("crate")?;
                let dir = self.root.join(krate);
                let files: Vec<Value> = code::sources(&self.root, krate)
                    .iter()
                    .map(|path| {
                        let in_crate = path.strip_prefix(&dir).unwrap_or(path).display();
                        let (name, anchor) = code::heading(&in_crate.to_string());
                        let text = fs::read_to_string(path).unwrap_or_default();
                        Value::from_serialize(serde_json::json!({
                            "name": name, "anchor": anchor, "text": text.trim_end(),
                        }))
                    })
                    .collect();
                vars.insert("files".into(), Value::from(files));
            }
            _ => {}
        }
        let template = self.env.get_template(&block.name)?;
        let context = merge_maps([Value::from(vars), self.tree.clone()]);
        Ok(template.render(context)?)
    }

    /// The claims of `page` that do not hold, as "line: claim: why".
    pub fn false_claims(&self, page: &str) -> Vec<String> {
        let failed = blocks::claims(page).into_iter().filter_map(|claim| {
            let why = claims::check(&self.env, &self.tree, &claim).err()?;
            Some(format!("{}: {}: {why}", claim.line, claim.expr))
        });
        failed.collect()
    }
}

/// What a rewrite could not do: pages it could not make (a block the
/// results cannot fill, as after a partial run), left as they were, and
/// claims the results contradict, each as "page:line: claim: why".
#[derive(Debug, Default)]
pub struct Left {
    pub unmade: Vec<String>,
    pub false_claims: Vec<String>,
}

/// Rewrites every page under `docs` (or only the pages in `only`) and the
/// charts they ask for.
pub fn rewrite(site: &Site, docs: &Path, only: &[PathBuf]) -> anyhow::Result<Left> {
    let mut charts = Vec::new();
    let mut left = Left::default();
    let chosen = if only.is_empty() {
        pages(docs)
    } else {
        only.to_vec()
    };
    for path in chosen {
        let rel = path.strip_prefix(docs).unwrap_or(&path);
        let depth = rel.components().count() - 1;
        let page =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let shown = rel.display().to_string();
        let (text, mut made) = match site.render_page(&page, depth) {
            Ok(made) => made,
            Err(e) => {
                left.unmade.push(format!("{shown}: {e:#}"));
                continue;
            }
        };
        if text != page {
            fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
            println!("pages: updated {}", path.display());
        }
        left.false_claims.extend(
            site.false_claims(&text)
                .into_iter()
                .map(|f| format!("{shown}:{f}")),
        );
        charts.append(&mut made);
    }
    let dir = create_dir(docs.join("charts"))?;
    for chart in &charts {
        let path = dir.join(&chart.file);
        if fs::read_to_string(&path).ok().as_deref() != Some(chart.svg.as_str()) {
            fs::write(&path, &chart.svg)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("pages: drew {}", path.display());
        }
    }
    // A chart no page asks for any more would be left behind, stale (and
    // a page that could not be made still asks for its old ones).
    if !only.is_empty() || !left.unmade.is_empty() {
        return Ok(left);
    }
    for old in fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
    {
        let name = old
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if !charts.iter().any(|c| c.file == name) {
            fs::remove_file(&old).with_context(|| format!("cannot remove {}", old.display()))?;
        }
    }
    Ok(left)
}

/// What a harness does with a new results file: writes it into
/// `out/results/`, then rewrites the pages in `out` from it (and from the
/// committed files it did not replace). Claims the new run contradicts are
/// reported, not fatal: a quick run is noise, and a full run that moves a
/// claim is news for whoever reads the prose next. A page a `partial` run
/// cannot fill is reported too; after a full run it is an error.
pub fn publish<T: Serialize + DeserializeOwned>(
    out: &Path,
    name: &str,
    file: &T,
    partial: bool,
) -> anyhow::Result<()> {
    let path = create_dir(out.join("results"))?.join(name);
    write_json(&path, file)?;
    println!("wrote {}", path.display());
    let results = [out.join("results"), PathBuf::from("docs").join("results")];
    let site = Site::new(Path::new("."), &results)?;
    let left = rewrite(&site, out, &[])?;
    let (claims, pages) = (left.false_claims.len(), left.unmade.len());
    if partial {
        println!("a partial run: {claims} claims not borne out, {pages} pages left as they were");
        return Ok(());
    }
    for claim in &left.false_claims {
        println!("warning: a claim of the prose no longer holds: {claim}");
    }
    anyhow::ensure!(
        pages == 0,
        "pages the results cannot fill: {:?}",
        left.unmade
    );
    Ok(())
}

/// What `rewrite` makes under `docs`: its pages and its charts.
pub fn files(docs: &Path) -> Vec<PathBuf> {
    let charts = fs::read_dir(docs.join("charts"))
        .into_iter()
        .flatten()
        .flatten();
    pages(docs)
        .into_iter()
        .chain(charts.map(|e| e.path()))
        .collect()
}

/// A copy of the pages and charts of `docs` in `to`, for a run that must
/// not touch the docs but should still exercise rewriting them.
pub fn copy_pages(docs: &Path, to: PathBuf) -> anyhow::Result<PathBuf> {
    let to = create_dir(to)?;
    for file in files(docs) {
        let target = to.join(file.strip_prefix(docs).unwrap_or(&file));
        if let Some(parent) = target.parent() {
            create_dir(parent.to_path_buf())?;
        }
        fs::copy(&file, &target).with_context(|| format!("cannot copy {}", file.display()))?;
    }
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).to_path_buf()
    }

    /// Fixed results, kept in report/testdata and docs/results: the
    /// snapshots of the blocks are made from them, whatever the next run says.
    fn fixed() -> Site {
        let testdata = root().join("report/testdata");
        let mut inputs = Inputs {
            bench: data::read(&root().join("docs/results/bench-2026-11-24T142949Z.json")).unwrap(),
            connections: Some(data::read(&testdata.join("connections-2026-11-23.json")).unwrap()),
            robustness: Some(data::read(&testdata.join("robustness-2026-11-24.json")).unwrap()),
            syscalls: Some(data::read(&testdata.join("syscalls-2026-11-24.json")).unwrap()),
            // Fixed too: counted from the sources, they would move with every edit.
            lines: SERVERS.iter().map(|s| (s.to_string(), s.len())).collect(),
        };
        Site::of(&root(), &mut inputs)
    }

    /// Every block a page can ask for, rendered from the fixed results.
    #[test]
    fn every_block_renders_as_its_snapshot() {
        let site = fixed();
        let page = "\
<!-- bench:start server=prefork_server previous=cgi_threading_server -->\n<!-- bench:end -->\n\
<!-- bench-table:start server=threadpool1_server -->\n<!-- bench-table:end -->\n\
<!-- compare:start metric=rps -->\n<!-- compare:end -->\n\
<!-- compare:start metric=p99 -->\n<!-- compare:end -->\n\
<!-- sweeps:start which=slow -->\n<!-- sweeps:end -->\n\
<!-- errors:start -->\n<!-- errors:end -->\n\
<!-- python:start -->\n<!-- python:end -->\n\
<!-- syscalls:start server=cgi_server -->\n<!-- syscalls:end -->\n\
<!-- syscalls:start list=multiplexingio_server,uring_server -->\n<!-- syscalls:end -->\n\
<!-- idle:start -->\n<!-- idle:end -->\n\
<!-- idle-steps:start server=cgi_threading_server show_limits=true -->\n<!-- idle-steps:end -->\n\
<!-- hostile:start part=verdicts -->\n<!-- hostile:end -->\n\
<!-- hostile:start part=churn -->\n<!-- hostile:end -->\n\
<!-- hostile-server:start server=simple_server -->\n<!-- hostile-server:end -->\n\
<!-- matrix:start part=costs -->\n<!-- matrix:end -->\n\
<!-- matrix:start part=failures -->\n<!-- matrix:end -->\n\
<!-- code:start file=report/testdata/excerpt.rs item=Pool::start -->\n<!-- code:end -->\n\
<!-- chart:start id=t kind=bars of=bench.c100.*.cpu title=T axis=ms -->\n<!-- chart:end -->\n\
It answered <!-- fig:start bench.slow.simple_server.rps | rate -->?<!-- fig:end --> a second.\n";
        let (text, charts) = site.render_page(page, 1).unwrap();
        insta::assert_snapshot!(text);
        assert_eq!(charts.len(), 1);
    }

    /// Every generated part of docs/ is what `bench pages` makes of the
    /// committed results and sources: the pages are made again in a copy and
    /// compared with the committed ones, charts included.
    #[test]
    fn the_committed_results_give_the_committed_pages() {
        let docs = root().join("docs");
        let copy = std::env::temp_dir().join(format!("pages-test-{}", std::process::id()));
        let copy = copy_pages(&docs, copy).unwrap();
        let site = Site::new(&root(), &[docs.join("results")]).unwrap();
        let left = rewrite(&site, &copy, &[]).unwrap();
        assert!(left.unmade.is_empty(), "pages not made: {:?}", left.unmade);
        let rel = |dir: &Path| -> std::collections::BTreeSet<PathBuf> {
            let made = files(dir).into_iter();
            made.map(|f| f.strip_prefix(dir).unwrap().to_path_buf())
                .collect()
        };
        let stale: Vec<String> = (rel(&copy).union(&rel(&docs)))
            .filter(|f| fs::read(copy.join(f)).ok() != fs::read(docs.join(f)).ok())
            .map(|f| f.display().to_string())
            .collect();
        let _ = fs::remove_dir_all(&copy);
        assert!(
            stale.is_empty(),
            "these differ from what the committed results and sources make: docs/{}\n\
             run `cargo run -p bench -- pages`",
            stale.join(", docs/")
        );
    }

    fn false_claims(site: &Site) -> Vec<String> {
        let docs = root().join("docs");
        let mut found = Vec::new();
        for page in pages(&docs) {
            let name = page.strip_prefix(&docs).unwrap().display().to_string();
            let text = fs::read_to_string(&page).unwrap();
            found.extend(
                site.false_claims(&text)
                    .into_iter()
                    .map(|f| format!("docs/{name}:{f}")),
            );
        }
        found
    }

    #[test]
    fn every_claim_in_the_docs_holds() {
        let site = Site::new(&root(), &[root().join("docs/results")]).unwrap();
        let found = false_claims(&site);
        assert!(
            found.is_empty(),
            "claims the results contradict:\n{}",
            found.join("\n")
        );
    }

    /// A run in which a one-thread server computes as fast as the pools:
    /// the lessons' claims that it cannot use the second core must fail.
    #[test]
    fn a_run_that_contradicts_a_claim_fails() {
        let results = root().join("docs/results");
        let mut inputs = Inputs::load(&[results]).unwrap();
        for s in inputs.bench.summaries.iter_mut() {
            if s.scenario == results::scenario::Scenario::Cpu {
                s.requests_per_s_median = Some(10_000.0);
            }
        }
        let site = Site::of(&root(), &mut inputs);
        let found = false_claims(&site);
        assert!(
            found.iter().any(|f| f.contains("bench.cpu.")),
            "no claim about `cpu` failed: {found:?}"
        );
    }
}
