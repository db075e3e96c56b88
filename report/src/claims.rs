//! The checks of the prose. A comparative sentence ("about twice as fast",
//! "the cheapest", "survived") carries a claim beside it, an expression
//! over the results tree written in the templates' language:
//!
//! ```text
//! It answers about twice as many. <!-- claim: bench.cpu.percore_server.rps > 1.5 * bench.cpu.multiplexingio_server.rps -->
//! ```
//!
//! Every claim must come out true for the committed results, or the tests
//! fail; a claim that names something the results do not have fails too.
//! The tests `every_claim_in_the_docs_holds` and
//! `a_run_that_contradicts_a_claim_fails` are in `site`.

use minijinja::Environment;
use minijinja::value::Value;

use crate::blocks::Claim;

/// Besides the tree, a claim may use:
/// - `ratio(a, b)`: a / b (`none` when either is missing);
/// - `within(a, b, frac)`: a and b differ by at most `frac` of the larger;
/// - `increasing(list)`: each value above the last;
/// - `all_of(list, field)`: the values of `field` in a list of rows.
pub fn add_helpers(env: &mut Environment<'static>) {
    env.add_function("within", |a: f64, b: f64, frac: f64| {
        (a - b).abs() <= frac * a.abs().max(b.abs())
    });
    env.add_function("increasing", |list: Vec<f64>| {
        list.windows(2).all(|w| w[1] > w[0])
    });
    env.add_function("all_of", |list: Vec<Value>, field: String| -> Vec<Value> {
        let get = |row: &Value| row.get_attr(&field).unwrap_or(Value::UNDEFINED);
        list.iter().map(get).collect()
    });
}

/// Why a claim does not hold: false, or not evaluable.
pub fn check(env: &Environment, tree: &Value, claim: &Claim) -> Result<(), String> {
    let expr = env
        .compile_expression(&claim.expr)
        .map_err(|e| format!("does not parse: {e}"))?;
    match expr.eval(tree) {
        Ok(v) if v.is_true() => Ok(()),
        Ok(_) => Err("false for these results".to_string()),
        Err(e) => Err(format!("cannot be evaluated: {e}")),
    }
}
