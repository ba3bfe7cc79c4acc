//! The training chart: reward, KL and validation over the steps, as a PNG beside the
//! metrics (`training.png`), drawn with plotters from `metrics.jsonl` and
//! `eval.jsonl`, so it can be redrawn from a finished or interrupted run.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::error::{Error, Result};

/// The chart's file name in a run's folder.
pub const CHART_FILE: &str = "training.png";

/// DejaVu Sans (its licence is `assets/DejaVuSans.LICENSE`): the chart's text, so
/// that drawing needs no system fonts.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

fn series(path: &Path, keys: &[&str]) -> Result<Vec<Vec<(f64, f64)>>> {
    let mut out = vec![Vec::new(); keys.len()];
    if !path.is_file() {
        return Ok(out);
    }
    let text = std::fs::read_to_string(path).map_err(|cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue; // a line cut short by an interruption
        };
        let Some(step) = v["step"].as_f64() else {
            continue;
        };
        for (k, s) in keys.iter().zip(out.iter_mut()) {
            if let Some(y) = v[*k].as_f64() {
                s.push((step, y));
            }
        }
    }
    Ok(out)
}

/// A line of a panel: its legend, its points, its colour.
type Line<'a> = (&'a str, &'a [(f64, f64)], RGBColor);

fn range(points: &[&[(f64, f64)]]) -> (f64, f64) {
    let ys = points.iter().flat_map(|s| s.iter().map(|p| p.1));
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-3);
    (lo - pad, hi + pad)
}

/// Draws `training.png` in the run folder `out` from its metrics files: three panels
/// (mean reward and share of answers in the method's format per step; KL to the base
/// model per step; validation reward, share in format and nDCG@10, with the order
/// shown for comparison).
pub fn draw(out: &Path) -> Result<()> {
    let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    let m = series(
        &out.join(super::trainer::METRICS_FILE),
        &["reward_mean", "kl", "parsed"],
    )?;
    let e = series(
        &out.join(super::trainer::EVAL_FILE),
        &["reward", "ndcg", "ndcg_initial", "parsed"],
    )?;
    let path = out.join(CHART_FILE);
    let fail = |e: String| Error::Export {
        path: path.clone(),
        message: e,
    };
    let last = m
        .iter()
        .chain(&e)
        .flat_map(|s| s.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let root = BitMapBackend::new(&path, (1500, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let panels = root.split_evenly((1, 3));
    let draw_panel = |area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
                      title: &str,
                      lines: &[Line]|
     -> std::result::Result<(), String> {
        let all: Vec<&[(f64, f64)]> = lines.iter().map(|l| l.1).collect();
        let (lo, hi) = range(&all);
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..last, lo..hi)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("step")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        for (name, points, color) in lines {
            let c = *color;
            chart
                .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c));
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 3, c.filled())))
                .map_err(|e| e.to_string())?;
        }
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())
    };
    draw_panel(
        &panels[0],
        "training rollouts",
        &[
            ("mean reward", &m[0], BLUE),
            ("share in the answer format", &m[2], MAGENTA),
        ],
    )
    .map_err(fail)?;
    draw_panel(
        &panels[1],
        "KL to the base model",
        &[("k3 KL per token", &m[1], RED)],
    )
    .map_err(fail)?;
    draw_panel(
        &panels[2],
        "validation (greedy)",
        &[
            ("reward", &e[0], BLUE),
            ("nDCG@10 of the answers", &e[1], GREEN),
            ("nDCG@10 of the order shown", &e[2], BLACK),
            ("share in the answer format", &e[3], MAGENTA),
        ],
    )
    .map_err(fail)?;
    root.present().map_err(|e| fail(e.to_string()))
}
