//! One query's ranking turned into the list of relevance values that every measure
//! reads: trec_eval's `RES_RELS`.

use hashbrown::HashTable;

use crate::arena::hash_bytes;
use crate::error::{Error, Result};
use crate::options::EvalOptions;
use crate::qrels::QueryJudgements;
use crate::run::QueryResults;

/// Relevance value of a retrieved document that is not in the judgements at all.
pub const NOT_IN_POOL: i32 = -1;
/// Relevance value of a retrieved document that is in the pool but was not judged
/// (its judgement is negative).
pub const UNJUDGED_IN_POOL: i32 = -2;

/// A query's retrieved documents reduced to relevance values in rank order, with the
/// counts the measures need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RankedList {
    /// Relevance of the document at each rank (index 0 is rank 1): the judged
    /// relevance, [`NOT_IN_POOL`] or [`UNJUDGED_IN_POOL`].
    pub rels: Vec<i32>,
    /// Number of relevant documents (judged at least the relevance level).
    pub num_rel: u64,
    /// Number of relevant documents retrieved.
    pub num_rel_ret: u64,
    /// Retrieved documents absent from the judgements.
    pub num_nonpool: u64,
    /// Retrieved documents in the pool but unjudged.
    pub num_unjudged_in_pool: u64,
    /// Number of judged documents per relevance level `0..`.
    pub rel_levels: Vec<u64>,
}

impl RankedList {
    /// Number of retrieved documents (after `-M` and `-J`).
    #[inline]
    pub fn num_ret(&self) -> usize {
        self.rels.len()
    }

    /// Number of relevance levels with a judgement: highest judged level + 1.
    #[inline]
    pub fn num_rel_levels(&self) -> usize {
        self.rel_levels.len()
    }

    /// Builds the list for documents already in rank order (best first) and judged by
    /// `judgements`. Fails if a document appears twice.
    ///
    /// ```
    /// use rerank_eval::{EvalOptions, Qrels, RankedList};
    /// let qrels = Qrels::from_judgements([("q", "a", 2), ("q", "b", 0)])?;
    /// let list = RankedList::from_ranking(qrels.get("q").unwrap(), ["b", "x", "a"], &EvalOptions::default())?;
    /// assert_eq!(list.rels, vec![0, -1, 2]);
    /// assert_eq!((list.num_rel, list.num_rel_ret), (1, 1));
    /// # Ok::<(), rerank_eval::Error>(())
    /// ```
    pub fn from_ranking<'a>(
        judgements: &QueryJudgements,
        ranking: impl IntoIterator<Item = &'a str>,
        opts: &EvalOptions,
    ) -> Result<RankedList> {
        let mut results = QueryResults::new(judgements.qid());
        let docs: Vec<&str> = ranking.into_iter().collect();
        let n = docs.len();
        for (i, d) in docs.into_iter().enumerate() {
            results.push_line(d, (n - i) as f64, 0);
        }
        let mut scratch = RankScratch::default();
        let mut list = RankedList::default();
        scratch.build(
            judgements,
            &results,
            opts,
            std::path::Path::new("<memory>"),
            &mut list,
        )?;
        Ok(list)
    }
}

/// Reusable buffers for building [`RankedList`]s, so that evaluating thousands of
/// queries allocates almost nothing.
#[derive(Default)]
pub(crate) struct RankScratch {
    order: Vec<u32>,
    keys: Vec<(u64, u32)>,
    hashes: Vec<u64>,
    /// Lists of up to [`BITMAP_MAX`] documents: a bit per value of the top 18 bits of
    /// a document's hash, set for the documents so far (clear between lists).
    bits: Vec<u64>,
    /// Longer lists: the documents so far by hash.
    seen: HashTable<u32>,
}

/// The longest list whose repeats are found with [`RankScratch::bits`].
const BITMAP_MAX: usize = 4096;

impl RankScratch {
    /// Fills `out` from `results` judged by `judgements`, following trec_eval's
    /// `form_res_rels`: sort by score then document id (both descending), keep the
    /// first `-M` documents, refuse duplicates among them, look up relevance, and with
    /// `-J` drop the documents that are not judged.
    pub(crate) fn build(
        &mut self,
        judgements: &QueryJudgements,
        results: &QueryResults,
        opts: &EvalOptions,
        source: &std::path::Path,
        out: &mut RankedList,
    ) -> Result<()> {
        let n = results.len();
        results.sort_ranked(&mut self.order, &mut self.keys);
        let keep = n.min(opts.max_docs_per_topic);
        self.order.truncate(keep);

        // Duplicates among the kept documents (trec_eval checks after truncation).
        if let Some((i, j)) = self.first_repeat(results) {
            // Report the later of the two lines: that is the one to delete.
            let line = results.line(i).max(results.line(j));
            return Err(Error::DuplicateDocument {
                path: source.to_path_buf(),
                qid: results.qid().to_owned(),
                docno: results.get(i).0.to_owned(),
                line: (line > 0).then_some(line),
            });
        }

        out.rels.clear();
        out.num_nonpool = 0;
        out.num_unjudged_in_pool = 0;
        out.num_rel_ret = 0;
        for (k, &i) in self.order.iter().enumerate() {
            let doc = results.get(i as usize).0;
            let rel = match judgements.relevance_hashed(self.hashes[k], doc.as_bytes()) {
                None => NOT_IN_POOL,
                Some(r) if r < 0 => UNJUDGED_IN_POOL,
                Some(r) => r,
            };
            if opts.judged_docs_only && rel < 0 {
                continue;
            }
            match rel {
                NOT_IN_POOL => out.num_nonpool += 1,
                UNJUDGED_IN_POOL => out.num_unjudged_in_pool += 1,
                r if r >= opts.relevance_level => out.num_rel_ret += 1,
                _ => {}
            }
            out.rels.push(rel);
        }
        out.rel_levels.clear();
        out.rel_levels.extend_from_slice(judgements.rel_levels());
        out.num_rel = judgements.num_relevant(opts.relevance_level);
        Ok(())
    }

    /// Hashes the documents of `order` into `hashes`, stopping at the first document
    /// that is there before: `Some((its index, the earlier one's))`.
    fn first_repeat(&mut self, results: &QueryResults) -> Option<(usize, usize)> {
        self.hashes.clear();
        if self.order.len() <= BITMAP_MAX {
            // A bit per value of the hash's top 18 bits (32 KiB): a thousand documents
            // set under a hundredth of them, so a document almost always finds its bit
            // clear and is new; a set bit sends it to search the earlier hashes.
            self.bits.resize(1 << 12, 0);
            let result = self.first_repeat_short(results);
            for &h in &self.hashes {
                self.bits[(h >> 52) as usize] = 0;
            }
            return result;
        }
        self.seen.clear();
        for &i in &self.order {
            let doc = results.get(i as usize).0;
            let h = hash_bytes(doc.as_bytes());
            if let Some(&j) = self.seen.find(h, |&j| results.get(j as usize).0 == doc) {
                return Some((i as usize, j as usize));
            }
            self.seen
                .insert_unique(h, i, |&j| hash_bytes(results.get(j as usize).0.as_bytes()));
            self.hashes.push(h);
        }
        None
    }

    /// [`RankScratch::first_repeat`] with the bit map, which starts clear.
    fn first_repeat_short(&mut self, results: &QueryResults) -> Option<(usize, usize)> {
        for &i in &self.order {
            let doc = results.get(i as usize).0;
            let h = hash_bytes(doc.as_bytes());
            let (word, bit) = ((h >> 52) as usize, 1u64 << ((h >> 46) & 63));
            if self.bits[word] & bit != 0 {
                let earlier = self
                    .hashes
                    .iter()
                    .zip(&self.order)
                    .find(|&(&g, &j)| g == h && results.get(j as usize).0 == doc);
                if let Some((_, &j)) = earlier {
                    return Some((i as usize, j as usize));
                }
            }
            self.bits[word] |= bit;
            self.hashes.push(h);
        }
        None
    }
}
