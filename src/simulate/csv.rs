//! The CSV of every decision: one row per pass per run, with each input's value and estimate (columns for
//! every input name of any run, in order of first appearance), the combined estimate, the count after
//! policies, the dynos serving, the dynos needed (with `--capacity`), whether the pass changed the count, and
//! why.

use super::lane::Lane;
use std::io::Write;

/// Writes the decisions of `lanes` (`needed`: per row of the first run's passes, which every run shares).
pub fn write(
    out: &mut impl Write,
    lanes: &[Lane],
    needed: Option<&[Option<f64>]>,
) -> std::io::Result<()> {
    let mut names: Vec<&str> = Vec::new();
    for lane in lanes {
        for n in &lane.input_names {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let mut header = String::from("run,time");
    for n in &names {
        header.push_str(&format!(
            ",{},{}",
            quote(n),
            quote(&format!("{n}_estimate"))
        ));
    }
    header.push_str(",estimate,count,serving,needed,change,reason\n");
    out.write_all(header.as_bytes())?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for lane in lanes {
        let columns: Vec<Option<usize>> = names
            .iter()
            .map(|n| lane.input_names.iter().position(|m| m == n))
            .collect();
        for (i, row) in lane.rows.iter().enumerate() {
            let time = jiff::Timestamp::from_microsecond(row.at)
                .map(|t| t.to_string())
                .unwrap_or_default();
            let mut line = format!("{},{time}", quote(&lane.name));
            for c in &columns {
                let (value, estimate) = c
                    .and_then(|c| row.inputs.get(c).copied())
                    .unwrap_or((None, None));
                line.push_str(&format!(
                    ",{},{}",
                    opt(value.map(|v| format!("{v:.3}"))),
                    opt(estimate.map(|e| e.to_string()))
                ));
            }
            let need = needed
                .and_then(|n| n.get(i).copied().flatten())
                .map(|n| format!("{n:.3}"));
            line.push_str(&format!(
                ",{},{},{},{},{},{}\n",
                opt(row.estimate.map(|e| e.to_string())),
                row.count,
                row.serving,
                opt(need),
                u8::from(row.changed),
                quote(&row.reason)
            ));
            out.write_all(line.as_bytes())?;
        }
    }
    Ok(())
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
pub fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(quote("estimate 3: steady at 3"), "estimate 3: steady at 3");
        assert_eq!(quote("a, b"), "\"a, b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
