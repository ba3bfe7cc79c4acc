//! The GRPO arithmetic against TRL's and verl's own code on the same inputs
//! (`data/grpo_reference.json`, written by `reference/grpo_reference.py` from TRL
//! 1.16.0 and verl 0.9.1 in float64): advantages under every scaling, and the loss and
//! its gradient per token for every aggregation, with and without the KL term, with
//! clip-higher and with TRL's sequence-level ratio; to 1e-6 (the differences are
//! rounding: verl divides a sequence's sum by its length plus 1e-8).

use rerank_rl::grpo::{
    advantages, policy_loss, AdvantageConfig, Aggregation, KlPenalty, PolicyLoss, RatioLevel,
    RewardScaling, SequenceLogProbs, SingletonGroup,
};
use serde_json::Value;

const TOL: f64 = 1e-6;

fn fixture() -> Value {
    serde_json::from_str(include_str!("data/grpo_reference.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= TOL * (1.0 + w.abs()),
            "{what}[{i}]: ours {g}, reference {w}"
        );
    }
}

#[test]
fn advantages_match_trl_and_verl() {
    let fx = fixture();
    let cases = fx["advantages"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for (c, case) in cases.iter().enumerate() {
        let rewards = floats(&case["rewards"]);
        let groups: Vec<usize> = case["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_u64().unwrap() as usize)
            .collect();
        let verl_no_std = AdvantageConfig {
            scaling: RewardScaling::None,
            ..AdvantageConfig::verl()
        };
        let batch = AdvantageConfig {
            scaling: RewardScaling::Batch,
            ..AdvantageConfig::trl()
        };
        for (key, cfg) in [
            ("trl_group", AdvantageConfig::trl()),
            ("trl_batch", batch),
            ("trl_none", AdvantageConfig::dr_grpo()),
            ("verl", AdvantageConfig::verl()),
            ("verl_no_std", verl_no_std),
        ] {
            assert_close(
                &format!("case {c} {key}"),
                &advantages(&rewards, &groups, &cfg),
                &floats(&case[key]),
            );
        }
        assert_eq!(verl_no_std.singleton, SingletonGroup::UnitStd);
    }
}

#[test]
fn losses_and_gradients_match_trl_and_verl() {
    let fx = fixture();
    let cases = fx["losses"].as_array().unwrap();
    let (mut trl, mut verl) = (0, 0);
    for (c, case) in cases.iter().enumerate() {
        let adv = floats(&case["advantages"]);
        let seqs: Vec<SequenceLogProbs> = case["seqs"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&adv)
            .map(|(s, &a)| SequenceLogProbs {
                logp: floats(&s["logp"]),
                old: floats(&s["old"]),
                reference: Some(floats(&s["ref"])),
                advantage: a,
            })
            .collect();
        let max_len = case["max_completion_length"].as_u64().unwrap() as usize;
        let cfg = match case["framework"].as_str().unwrap() {
            "trl" => {
                trl += 1;
                PolicyLoss {
                    beta: case["beta"].as_f64().unwrap(),
                    epsilon_high: case["epsilon_high"].as_f64().unwrap(),
                    ratio: match case["level"].as_str().unwrap() {
                        "sequence" => RatioLevel::Sequence,
                        _ => RatioLevel::Token,
                    },
                    aggregation: match case["loss_type"].as_str().unwrap() {
                        "grpo" => Aggregation::SequenceMean,
                        "bnpo" | "dapo" => Aggregation::TokenMean,
                        "dr_grpo" => Aggregation::SequenceSumNorm {
                            max_completion_length: max_len,
                        },
                        other => panic!("{other}"),
                    },
                    ..PolicyLoss::trl()
                }
            }
            _ => {
                verl += 1;
                PolicyLoss {
                    beta: case["kl_coef"].as_f64().unwrap(),
                    aggregation: match case["agg"].as_str().unwrap() {
                        "token-mean" => Aggregation::TokenMean,
                        "seq-mean-token-mean" => Aggregation::SequenceMean,
                        "seq-mean-token-sum" => Aggregation::SequenceMeanTokenSum,
                        "seq-mean-token-sum-norm" => Aggregation::SequenceSumNorm {
                            max_completion_length: max_len,
                        },
                        "token-sum" => Aggregation::TokenSum,
                        other => panic!("{other}"),
                    },
                    ..PolicyLoss::verl()
                }
            }
        };
        let out = policy_loss(&seqs, &cfg).unwrap();
        let name = format!("case {c} ({case_name})", case_name = describe(case));
        assert_close(
            &format!("{name} loss"),
            &[out.loss],
            &[case["loss"].as_f64().unwrap()],
        );
        for (i, g) in case["grad"].as_array().unwrap().iter().enumerate() {
            assert_close(
                &format!("{name} grad of completion {i}"),
                &out.grad[i],
                &floats(g),
            );
        }
        if case["framework"] == "trl" {
            for key in ["clip_region", "clip_low", "clip_high", "kl_mean"] {
                let ours = match key {
                    "clip_region" => out.clip_region,
                    "clip_low" => out.clip_low,
                    "clip_high" => out.clip_high,
                    _ if cfg.beta != 0.0 => out.kl_mean,
                    _ => 0.0,
                };
                assert_close(
                    &format!("{name} {key}"),
                    &[ours],
                    &[case[key].as_f64().unwrap()],
                );
            }
        }
        if cfg.kl == KlPenalty::K3Clamped {
            assert!(cfg.dual_clip.is_some() && cfg.log_ratio_clamp.is_some());
        }
    }
    assert!(trl >= 30 && verl >= 30, "trl {trl}, verl {verl}");
    // Some tokens were clipped, so the clipped branches were compared too.
    assert!(cases
        .iter()
        .any(|c| c["clip_region"].as_f64().unwrap_or(0.0) > 0.0));
}

fn describe(case: &Value) -> String {
    match case["framework"].as_str().unwrap() {
        "trl" => format!(
            "trl {} beta {} eps_high {} {}",
            case["loss_type"], case["beta"], case["epsilon_high"], case["level"]
        ),
        _ => format!("verl {} kl {}", case["agg"], case["kl_coef"]),
    }
}
