//! Setwise bubblesort (llm-rankers): sets of `num_child + 1` slide from the bottom up,
//! the best of each set moves to the set's top, `k` times; stable stretches found in
//! one pass are skipped in the next.

/// Python's slice `start..end` on a list of length `len` (negative indices count
/// from the end; both ends clamped).
fn py_slice(start: isize, end: isize, len: usize) -> std::ops::Range<usize> {
    let fix = |i: isize| -> usize {
        let i = if i < 0 { i + len as isize } else { i };
        i.clamp(0, len as isize) as usize
    };
    let (s, e) = (fix(start), fix(end));
    s..e.max(s)
}

/// llm-rankers' bubblesort loop, one comparison at a time.
#[derive(Clone, Debug)]
pub(crate) struct BubbleSort {
    n: usize,
    c: isize,
    k: usize,
    last_start: isize,
    i: usize,
    start: isize,
    end: isize,
    is_change: bool,
    in_window: bool,
}

impl BubbleSort {
    pub(crate) fn new(n: usize, num_child: usize, k: usize) -> Self {
        let c = num_child as isize;
        BubbleSort {
            n,
            c,
            k,
            last_start: n as isize - (c + 1),
            i: 0,
            start: 0,
            end: 0,
            is_change: false,
            in_window: false,
        }
    }

    fn window(&self) -> std::ops::Range<usize> {
        py_slice(self.start, self.end, self.n)
    }

    /// The next set to compare (positions, top first); `None` when done. Sets of one
    /// candidate are not compared (nothing to choose).
    pub(crate) fn next_set<T>(&mut self, arr: &mut [T]) -> Option<Vec<usize>> {
        loop {
            if !self.in_window {
                if self.i >= self.k || self.i + 1 >= self.n {
                    return None;
                }
                self.start = self.last_start;
                self.end = self.last_start + self.c + 1;
                self.is_change = false;
                self.in_window = true;
            }
            if self.start < self.i as isize {
                self.start = self.i as isize;
            }
            let w = self.window();
            if w.len() >= 2 {
                return Some(w.collect());
            }
            self.answer(arr, None);
        }
    }

    /// The answer to the set last returned: index of the best in the set (`None`:
    /// unusable answer, no swap).
    pub(crate) fn answer<T>(&mut self, arr: &mut [T], best: Option<usize>) {
        let w = self.window();
        let best_ind = best.filter(|&b| b < w.len()).unwrap_or(0);
        if best_ind != 0 {
            let s = self.start as usize;
            arr.swap(s, s + best_ind);
            if !self.is_change {
                self.is_change = true;
                if self.last_start != self.n as isize - (self.c + 1) && best_ind == w.len() - 1 {
                    self.last_start += w.len() as isize - 1;
                }
            }
        }
        if self.start == self.i as isize {
            self.in_window = false;
            self.i += 1;
            return;
        }
        if !self.is_change {
            self.last_start -= self.c;
        }
        self.start -= self.c;
        self.end -= self.c;
    }

    /// Indices of `arr` in final order (the array itself).
    pub(crate) fn order(&self) -> Vec<usize> {
        (0..self.n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::py_slice;

    #[test]
    fn python_slices() {
        assert_eq!(py_slice(2, 5, 10), 2..5);
        assert_eq!(py_slice(-3, 10, 10), 7..10);
        assert_eq!(py_slice(5, 20, 10), 5..10);
        assert_eq!(py_slice(5, 2, 10), 5..5);
        assert_eq!(py_slice(0, -12, 10), 0..0);
    }
}
