//! Compact storage for many short strings (document ids), with hashed lookup.
//!
//! A query's documents are stored back to back in one `String`, so reading a file with
//! millions of lines costs a handful of allocations instead of one per line.

use std::hash::Hasher;

use hashbrown::HashTable;
use rustc_hash::FxHasher;

/// Hash of a document id, shared by every table that looks documents up.
#[inline]
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(bytes);
    h.finish()
}

/// The first eight bytes of a document id as a big-endian number, zero-padded: where
/// two ids' prefixes differ, they order as the ids do (an id that differs from another
/// at a padding byte is a proper prefix of it, so it sorts first either way); equal
/// prefixes need the whole ids. The sort key of the judgements.
#[inline]
pub(crate) fn id_prefix(docno: &[u8]) -> u64 {
    let mut prefix = [0u8; 8];
    let n = docno.len().min(8);
    prefix[..n].copy_from_slice(&docno[..n]);
    u64::from_be_bytes(prefix)
}

/// Strings stored back to back; string `i` is `text[ends[i-1]..ends[i]]`.
#[derive(Clone, Debug, Default)]
pub(crate) struct StrArena {
    text: String,
    ends: Vec<u32>,
}

impl StrArena {
    #[inline]
    pub(crate) fn push(&mut self, s: &str) -> usize {
        self.text.push_str(s);
        assert!(
            self.text.len() <= u32::MAX as usize,
            "more than 4 GiB of document ids in one query"
        );
        self.ends.push(self.text.len() as u32);
        self.ends.len() - 1
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// A hash index over the strings of a [`StrArena`]: finds the position of a string.
#[derive(Clone, Debug, Default)]
pub(crate) struct ArenaIndex {
    table: HashTable<u32>,
}

impl ArenaIndex {
    /// The index of `arena`'s strings; `None` if a string is there twice.
    pub(crate) fn build_unique(arena: &StrArena) -> Option<Self> {
        let mut table = HashTable::with_capacity(arena.len());
        for i in 0..arena.len() {
            let s = arena.get(i).as_bytes();
            let h = hash_bytes(s);
            match table.entry(
                h,
                |&j| arena.get(j as usize).as_bytes() == s,
                |&j| hash_bytes(arena.get(j as usize).as_bytes()),
            ) {
                hashbrown::hash_table::Entry::Occupied(_) => return None,
                hashbrown::hash_table::Entry::Vacant(v) => {
                    v.insert(i as u32);
                }
            }
        }
        Some(ArenaIndex { table })
    }

    /// Position of `s` in `arena`, given its precomputed hash.
    #[inline]
    pub(crate) fn find(&self, arena: &StrArena, hash: u64, s: &[u8]) -> Option<usize> {
        self.table
            .find(hash, |&j| arena.get(j as usize).as_bytes() == s)
            .map(|&j| j as usize)
    }
}
