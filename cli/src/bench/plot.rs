//! `--plot FILE.svg`: throughput against p99 latency, one line per strategy
//! (engine, sync policy and group-commit setting) through its thread counts
//! (a, b), pipelined runs (c) as triangles labelled with their window, the
//! raw limit (the fastest raw QD1 loop) as a black cross. Log scales on both
//! axes. SVG only: no fonts needed.

use super::report::Row;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

struct Pt {
    x: f64,
    y: f64,
    order: usize,
    label: String,
}

fn si(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{}k", v / 1e3)
    } else {
        format!("{v}")
    }
}

pub fn draw(path: &Path, rows: &[Row]) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let mut waiting: BTreeMap<String, Vec<Pt>> = BTreeMap::new();
    let mut piped: BTreeMap<String, Vec<Pt>> = BTreeMap::new();
    let mut base = Vec::new();
    for r in rows {
        if r.p99_us <= 0.0 || r.entries_per_s <= 0.0 {
            continue;
        }
        let key = format!("{}, {}, {}", r.engine, r.policy, r.group_commit);
        match r.workload.as_str() {
            // One writer appears in a and in b at 1 thread: a only fills in
            // for strategies without b.
            "a" if rows.iter().any(|o| {
                o.workload == "b"
                    && o.engine == r.engine
                    && o.policy == r.policy
                    && o.group_commit == r.group_commit
            }) => {}
            "a" | "b" => waiting.entry(key).or_default().push(Pt {
                x: r.entries_per_s,
                y: r.p99_us,
                order: r.threads,
                label: format!("{}t", r.threads),
            }),
            "c" => {
                let w = r.name.rsplit(' ').next().unwrap_or("").to_string();
                piped.entry(key).or_default().push(Pt {
                    x: r.entries_per_s,
                    y: r.p99_us,
                    order: w.parse().unwrap_or(0),
                    label: format!("w{w}"),
                })
            }
            "baseline" if r.limit => base.push(Pt {
                x: r.entries_per_s,
                y: r.p99_us,
                order: 0,
                label: "raw limit".into(),
            }),
            _ => {}
        }
    }
    for v in waiting.values_mut() {
        v.sort_by_key(|p| p.order);
    }
    let all: Vec<&Pt> = waiting
        .values()
        .chain(piped.values())
        .flatten()
        .chain(base.iter())
        .collect();
    if all.is_empty() {
        return Err("nothing with a p99 latency to plot".into());
    }
    let (xmin, xmax) = all
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), p| (lo.min(p.x), hi.max(p.x)));
    let (ymin, ymax) = all
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), p| (lo.min(p.y), hi.max(p.y)));

    let root = SVGBackend::new(path, (1200, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "xwal bench: throughput vs p99 latency (per strategy; labels: threads t / window w)",
            ("sans-serif", 20),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(
            ((xmin / 1.6)..(xmax * 1.6)).log_scale(),
            ((ymin / 1.6)..(ymax * 1.6)).log_scale(),
        )
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc("entries/s (log)")
        .y_desc("p99 latency, us (log)")
        .x_label_formatter(&|v| si(*v))
        .y_label_formatter(&|v| si(*v))
        .draw()
        .map_err(|x| e(&x))?;

    // One colour per strategy, shared by its waiting-writer line and its pipeline triangles.
    let mut keys: Vec<&String> = waiting.keys().chain(piped.keys()).collect();
    keys.sort();
    keys.dedup();
    let color_of =
        |k: &String| Palette99::pick(keys.iter().position(|x| *x == k).unwrap_or(0)).to_rgba();
    for (name, pts) in waiting.iter() {
        let color = color_of(name);
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.x, p.y)),
                color.stroke_width(2),
            ))
            .map_err(|x| e(&x))?
            .label(format!("waiting writers: {name}"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                pts.iter()
                    .map(|p| Circle::new((p.x, p.y), 4, color.filled())),
            )
            .map_err(|x| e(&x))?;
        chart
            .draw_series(pts.iter().map(|p| {
                Text::new(
                    p.label.clone(),
                    (p.x * 1.04, p.y * 1.04),
                    ("sans-serif", 12),
                )
            }))
            .map_err(|x| e(&x))?;
    }
    for (name, pts) in piped.iter() {
        let color = color_of(name);
        chart
            .draw_series(
                pts.iter()
                    .map(|p| TriangleMarker::new((p.x, p.y), 7, color.filled())),
            )
            .map_err(|x| e(&x))?
            .label(format!("submit pipeline: {name}"))
            .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, color.filled()));
        chart
            .draw_series(pts.iter().map(|p| {
                Text::new(
                    p.label.clone(),
                    (p.x * 1.04, p.y / 1.12),
                    ("sans-serif", 12),
                )
            }))
            .map_err(|x| e(&x))?;
    }
    if !base.is_empty() {
        chart
            .draw_series(
                base.iter()
                    .map(|p| Cross::new((p.x, p.y), 7, BLACK.stroke_width(2))),
            )
            .map_err(|x| e(&x))?
            .label("raw limit: the fastest raw 4 KiB QD1 loop")
            .legend(|(x, y)| Cross::new((x + 10, y), 6, BLACK.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    Ok(())
}
