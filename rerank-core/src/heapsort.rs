//! Setwise heapsort (Rank-R1, llm-rankers): a max-heap where each node has up to
//! `num_child` children, so one comparison shows a parent and its children; after the
//! heap is built, the top is extracted `k` times.

/// Where the heapsort is.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Building the heap: heapify node `i`, then `i - 1`, … down to 0.
    Build(isize),
    /// Extracting: swap the top with position `i`, re-heapify.
    Extract(usize),
    Done,
}

/// llm-rankers' `heapSort`/`heapify`, one comparison at a time.
#[derive(Clone, Debug)]
pub(crate) struct HeapSort {
    n: usize,
    c: usize,
    k: usize,
    phase: Phase,
    /// The heapify in progress: (heap size, node).
    cursor: Option<(usize, usize)>,
    ranked: usize,
}

impl HeapSort {
    pub(crate) fn new(n: usize, num_child: usize, k: usize) -> Self {
        HeapSort {
            n,
            c: num_child,
            k,
            phase: Phase::Build((n / num_child) as isize),
            cursor: None,
            ranked: 0,
        }
    }

    fn set(&self, size: usize, node: usize) -> Option<Vec<usize>> {
        let first = self.c * node + 1;
        (first < size).then(|| {
            let last = (self.c * (node + 1) + 1).min(size);
            std::iter::once(node).chain(first..last).collect()
        })
    }

    /// The next set to compare (positions, parent first), advancing through the
    /// phases (which may swap elements of `arr`); `None` when sorted.
    pub(crate) fn next_set<T>(&mut self, arr: &mut [T]) -> Option<Vec<usize>> {
        loop {
            if let Some((size, node)) = self.cursor {
                if let Some(s) = self.set(size, node) {
                    return Some(s);
                }
                self.cursor = None;
            }
            match self.phase {
                Phase::Build(i) if i >= 0 => {
                    self.cursor = Some((self.n, i as usize));
                    self.phase = Phase::Build(i - 1);
                }
                Phase::Build(_) => {
                    self.phase = if self.n >= 2 {
                        Phase::Extract(self.n - 1)
                    } else {
                        Phase::Done
                    };
                }
                Phase::Extract(i) => {
                    arr.swap(i, 0);
                    self.ranked += 1;
                    if self.ranked == self.k {
                        self.phase = Phase::Done;
                        return None;
                    }
                    self.cursor = Some((i, 0));
                    self.phase = if i > 1 {
                        Phase::Extract(i - 1)
                    } else {
                        Phase::Done
                    };
                }
                Phase::Done => return None,
            }
        }
    }

    /// The answer to the set last returned: index of the best in the set, or `None`
    /// (unusable answer: the parent stays, as llm-rankers does).
    pub(crate) fn answer<T>(&mut self, arr: &mut [T], best: Option<usize>) {
        let Some((size, node)) = self.cursor else {
            return;
        };
        let set = self.set(size, node).unwrap_or_default();
        let largest = set.get(best.unwrap_or(0)).copied().unwrap_or(node);
        if largest != node {
            arr.swap(node, largest);
            self.cursor = Some((size, largest));
        } else {
            self.cursor = None;
        }
    }

    /// Indices of `arr` in final order: the extracted top first (llm-rankers reverses
    /// the array), then the rest of the reversed array.
    pub(crate) fn order(&self) -> Vec<usize> {
        (0..self.n).rev().collect()
    }
}
