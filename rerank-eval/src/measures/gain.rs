//! Gain values per relevance level for the gain-based measures (`ndcg`, `ndcg_rel`,
//! `Rndcg`, `G`, `rbp`, `dcg`, `ideal_dcg`): by default the level itself, overridden by
//! `level=gain` parameters.

/// One relevance level's gain and how many judged documents have that level.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LevelGain {
    pub level: i64,
    pub gain: f64,
    pub count: u64,
}

/// The gains of one query, sorted by increasing gain (trec_eval's `GAINS`).
pub(crate) struct Gains {
    pub levels: Vec<LevelGain>,
    /// `by_rel[r - lowest]`: the gain of relevance `r` (as [`Gains::find`] gives it)
    /// for every `r` from the lowest level to the highest; empty when that span is too
    /// wide for a table.
    by_rel: Vec<f64>,
    lowest: i64,
}

/// The widest span of relevance levels kept as a table.
const MAX_TABLE: i64 = 4096;

/// trec_eval's `valid_int`: optional sign, then only digits.
fn valid_int(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}

impl Gains {
    /// Parameter pairs with integer names set gains; other names (`p` for rbp) are
    /// skipped. Every judged level `0..num_rel_levels` gets a gain.
    ///
    /// trec_eval sorts with a comparator that truncates gain differences to integers,
    /// which misorders fractional gains less than 1 apart; this sorts by the real
    /// gain, which agrees with trec_eval whenever its comparator is consistent.
    pub(crate) fn new(pairs: &[(String, f64)], rel_levels: &[u64]) -> Gains {
        let mut levels: Vec<LevelGain> = pairs
            .iter()
            .filter(|(name, _)| valid_int(name))
            .map(|(name, gain)| LevelGain {
                level: name.parse().unwrap_or(0),
                gain: *gain,
                count: 0,
            })
            .collect();
        for (i, &n) in rel_levels.iter().enumerate() {
            match levels.iter_mut().find(|g| g.level == i as i64) {
                Some(g) => g.count = n,
                None => levels.push(LevelGain {
                    level: i as i64,
                    gain: i as f64,
                    count: n,
                }),
            }
        }
        levels.sort_by(|a, b| a.gain.total_cmp(&b.gain));
        let mut gains = Gains {
            levels,
            by_rel: Vec::new(),
            lowest: 0,
        };
        gains.fill_table();
        gains
    }

    /// Maps every level's gain through `f`.
    pub(crate) fn map_gains(&mut self, f: impl Fn(f64) -> f64) {
        for g in &mut self.levels {
            g.gain = f(g.gain);
        }
        self.fill_table();
    }

    /// The measures ask for a gain at every rank: a table instead of a search.
    fn fill_table(&mut self) {
        self.by_rel.clear();
        let (Some(lowest), Some(highest)) = (
            self.levels.iter().map(|g| g.level).min(),
            self.levels.iter().map(|g| g.level).max(),
        ) else {
            return;
        };
        if highest - lowest >= MAX_TABLE {
            return;
        }
        self.lowest = lowest;
        self.by_rel = (lowest..=highest).map(|r| self.find(r)).collect();
    }

    /// Gain of a retrieved document's relevance value (0 for unjudged documents).
    #[inline]
    pub(crate) fn get(&self, rel: i32) -> f64 {
        match self
            .by_rel
            .get((rel as i64).wrapping_sub(self.lowest) as usize)
        {
            Some(&g) => g,
            None if !self.by_rel.is_empty() => 0.0,
            None => self.find(rel as i64),
        }
    }

    /// The gain of the first level (in gain order) of relevance `rel`, 0 if none.
    fn find(&self, rel: i64) -> f64 {
        self.levels
            .iter()
            .find(|g| g.level == rel)
            .map_or(0.0, |g| g.gain)
    }
}

/// Walks the ideal ranking's gains: documents of the highest-gain level first.
pub(crate) struct IdealGains<'a> {
    gains: &'a Gains,
    cur: i64,
    num_at_level: u64,
    /// Gain of the ideal document at the current rank.
    pub gain: f64,
}

impl<'a> IdealGains<'a> {
    pub(crate) fn new(gains: &'a Gains) -> Self {
        let cur = gains.levels.len() as i64 - 1;
        let gain = if cur >= 0 {
            gains.levels[cur as usize].gain
        } else {
            0.0
        };
        IdealGains {
            gains,
            cur,
            num_at_level: 0,
            gain,
        }
    }

    /// Moves to the next rank, updating `gain`.
    #[inline]
    pub(crate) fn advance(&mut self) {
        self.num_at_level += 1;
        while self.cur >= 0 && self.num_at_level > self.gains.levels[self.cur as usize].count {
            self.num_at_level = 1;
            self.cur -= 1;
            self.gain = if self.cur >= 0 {
                self.gains.levels[self.cur as usize].gain
            } else {
                0.0
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gains_follow_trec_eval() {
        let pairs = vec![
            ("1".to_string(), 3.0),
            ("2".to_string(), 9.0),
            ("4".to_string(), 4.5),
            ("p".to_string(), 0.5),
        ];
        let g = Gains::new(&pairs, &[10, 5, 2, 1]);
        let order: Vec<(i64, f64, u64)> = g
            .levels
            .iter()
            .map(|l| (l.level, l.gain, l.count))
            .collect();
        assert_eq!(
            order,
            vec![
                (0, 0.0, 10),
                (1, 3.0, 5),
                (3, 3.0, 1),
                (4, 4.5, 0),
                (2, 9.0, 2)
            ]
        );
        assert_eq!(g.get(2), 9.0);
        assert_eq!(g.get(-1), 0.0);
    }

    /// The table gives what the search gives: repeated levels (the first in gain
    /// order wins), negative levels, values outside the levels, and a span of levels
    /// too wide for a table.
    #[test]
    fn table_is_the_search() {
        let pair = |n: &str, g: f64| (n.to_string(), g);
        for pairs in [
            vec![],
            vec![
                pair("1", 3.0),
                pair("1", 2.0),
                pair("-1", 0.5),
                pair("p", 0.9),
            ],
            vec![pair("-2", -1.0), pair("7", 4.0)],
            vec![pair("100000", 5.0), pair("-3", 1.0)],
        ] {
            for rel_levels in [&[][..], &[3, 2, 1][..]] {
                let mut g = Gains::new(&pairs, rel_levels);
                for round in 0..2 {
                    for rel in (-5..12).chain([99_999, 100_000, i32::MIN, i32::MAX]) {
                        assert_eq!(g.get(rel), g.find(rel as i64), "{pairs:?} {rel}");
                    }
                    if round == 0 {
                        g.map_gains(|x| x * 2.0 + 1.0);
                    }
                }
            }
        }
    }
}
