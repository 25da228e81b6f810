//! Public linear maps on packed ciphertexts: sums over arithmetic progressions of slots
//! ("segment sums"), and the packed origin × destination matrix layout with its group (box)
//! sums and column sums.
//!
//! ## Segment sums
//! For a segment `x[s], x[s+σ], …, x[s+(len-1)σ]` inside one rotation row, power-of-two window
//! sums `W_0 = x`, `W_{k+1} = W_k + rot(W_k, 2^k σ)` are built once per ciphertext
//! (`⌊log2 len_max⌋` rotations); a segment of length `len = Σ 2^{k_i}` (bits in decreasing
//! order) is `Σ_i rot(W_{k_i}, off_i σ)[s]` with `off_i` the sum of the higher bits. Every
//! distinct `(k, off)` pair costs one rotation (hoisted per `k`) and one mask product shared by
//! all segments that need it; the result holds each segment's sum at its start slot and zero
//! elsewhere.
//!
//! ## Matrix layout ("bands")
//! An `n × n` matrix is stored row-major with row width `n`: origin `o` occupies the `n` slots
//! from `local(o)·n` of one rotation row (`⌊row_len / n⌋` origins per row); destination `d` is
//! at column `col(d)`. Columns are sorted by group of the finest public membership table used
//! (numbered so that coarser tables nest in it as runs of ids), so every group is a contiguous
//! run of columns. Each group `h` also owns a band of `k_h = ⌈size_h / R⌉` consecutive local
//! indices, and its members are spread over the `R` rows inside that band (`R` the fewest rows
//! whose bands fit one row). Then *folding* — adding all ciphertexts and, for BFV, the row
//! swap — puts at local `i` the sum of all origins at local `i`, all of one group; a stride-`n`
//! window over each band gives the group's flows by destination, and a stride-1 window over
//! each column group gives the box sums. For the 196 Abel–Sander countries in 10 regions at
//! `N = 2^14` (41 origins per row) `R = 6` rows (3 ciphertexts), the bands take 37 locals, and
//! the whole 10 × 10 aggregation costs 1 + 6 + 17 rotations on one ciphertext. Column sums are
//! one window over all bands of the folded matrix.

use super::backend::{SlotBackend, SlotValue};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

fn refuse(reason: impl Into<String>) -> Error {
    Error::Analytics {
        reason: reason.into(),
    }
}

/// A run of `len` slots `start, start + stride, …` inside one rotation row of ciphertext `ct`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Ciphertext index.
    pub ct: usize,
    /// First slot.
    pub start: usize,
    /// Number of slots summed (at least 1).
    pub len: usize,
}

/// `values` with `one()` at `positions` and zero elsewhere.
pub fn mask_vector<V: SlotValue>(slots: usize, positions: &[usize]) -> Vec<V> {
    let mut m = vec![V::default(); slots];
    for &p in positions {
        if p < slots {
            m[p] = V::one();
        }
    }
    m
}

/// Keeps only `positions` of `ct` (one plaintext product).
///
/// # Errors
/// Backend errors.
pub fn mask<B: SlotBackend>(be: &B, ct: &B::Ct, positions: &[usize]) -> Result<B::Ct> {
    be.mul_plain(ct, &mask_vector::<B::Value>(be.slots(), positions))
}

/// Sums of `segments` with common `stride`: entry `c` of the result is `Some` for every
/// ciphertext with a segment and holds each segment's sum at its start, zero elsewhere.
///
/// # Errors
/// A segment that leaves its row or names a missing ciphertext; backend errors.
pub fn segment_sums<B: SlotBackend>(
    be: &B,
    cts: &[B::Ct],
    stride: usize,
    segments: &[Segment],
) -> Result<Vec<Option<B::Ct>>> {
    segment_sums_weighted(be, cts, stride, segments, B::Value::one())
}

/// [`segment_sums`] whose masks carry `weight` instead of 1 (each sum multiplied by `weight`
/// at no extra product).
///
/// # Errors
/// As [`segment_sums`].
pub fn segment_sums_weighted<B: SlotBackend>(
    be: &B,
    cts: &[B::Ct],
    stride: usize,
    segments: &[Segment],
    weight: B::Value,
) -> Result<Vec<Option<B::Ct>>> {
    let w = vec![weight; segments.len()];
    segment_sums_with(be, cts, stride, segments, &w)
}

/// [`segment_sums`] with one weight per segment (its sum is multiplied by it, at no extra
/// product).
///
/// # Errors
/// As [`segment_sums`]; `weights` of another length than `segments`.
pub fn segment_sums_with<B: SlotBackend>(
    be: &B,
    cts: &[B::Ct],
    stride: usize,
    segments: &[Segment],
    weights: &[B::Value],
) -> Result<Vec<Option<B::Ct>>> {
    if weights.len() != segments.len() {
        return Err(Error::LengthMismatch {
            expected: segments.len(),
            found: weights.len(),
        });
    }
    let weight_at: BTreeMap<(usize, usize), B::Value> = segments
        .iter()
        .zip(weights)
        .map(|(s, &w)| ((s.ct, s.start), w))
        .collect();
    let row = be.row_len();
    let mut by_ct: BTreeMap<usize, Vec<Segment>> = BTreeMap::new();
    for s in segments {
        if s.ct >= cts.len() || s.len == 0 || s.start >= be.slots() {
            return Err(refuse("segment outside the packed ciphertexts"));
        }
        let pos = s.start % row;
        if pos + (s.len - 1) * stride >= row {
            return Err(refuse("segment leaves its rotation row"));
        }
        by_ct.entry(s.ct).or_default().push(*s);
    }
    let mut out: Vec<Option<B::Ct>> = vec![None; cts.len()];
    for (c, segs) in by_ct {
        let max_len = segs.iter().map(|s| s.len).max().unwrap_or(1);
        let kmax = usize::BITS as usize - 1 - max_len.leading_zeros() as usize;
        let mut w = vec![cts[c].clone()];
        for k in 1..=kmax {
            let r = be.rotate(&w[k - 1], (stride << (k - 1)) % row)?;
            let next = be.add(&w[k - 1], &r)?;
            w.push(next);
        }
        // (k, off) -> starts
        let mut terms: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for s in &segs {
            let mut off = 0usize;
            for k in (0..=kmax).rev() {
                if s.len >> k & 1 == 1 {
                    terms.entry((k, off)).or_default().push(s.start);
                    off += 1 << k;
                }
            }
        }
        let mut acc: Option<B::Ct> = None;
        for k in 0..=kmax {
            let offs: Vec<usize> = terms
                .range((k, 0)..=(k, usize::MAX))
                .map(|(&(_, off), _)| off)
                .collect();
            if offs.is_empty() {
                continue;
            }
            let nonzero: Vec<usize> = offs
                .iter()
                .filter(|&&o| o != 0)
                .map(|&o| (o * stride) % row)
                .collect();
            let rotated = if nonzero.is_empty() {
                Vec::new()
            } else {
                be.rotate_many(&w[k], &nonzero)?
            };
            let mut ri = 0;
            for off in offs {
                let src = if off == 0 {
                    &w[k]
                } else {
                    ri += 1;
                    &rotated[ri - 1]
                };
                let starts = &terms[&(k, off)];
                let mut m = vec![B::Value::default(); be.slots()];
                for &p in starts {
                    m[p] = weight_at.get(&(c, p)).copied().unwrap_or_default();
                }
                let term = be.mul_plain(src, &m)?;
                acc = Some(match acc {
                    None => term,
                    Some(a) => be.add(&a, &term)?,
                });
            }
        }
        out[c] = acc;
    }
    Ok(out)
}

/// The packed layout of an `n × n` origin × destination matrix (module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatrixLayout {
    n: usize,
    slots: usize,
    row_len: usize,
    rows_per_ct: usize,
    per_row: usize,
    col: Vec<usize>,
    /// (global row, local index) of each origin.
    place: Vec<(usize, usize)>,
    n_rows: usize,
    groups: Vec<usize>,
    /// First local index of each group's band, and the band's width.
    bands: Vec<(usize, usize)>,
}

/// Per ciphertext slot vectors of a packed matrix.
pub type Packed<V> = Vec<Vec<V>>;

/// A group's column run and band of locals, each `(first, width)`.
type Ranges = ((usize, usize), (usize, usize));

/// One ciphertext slot: `(ciphertext index, slot index)`.
pub type SlotRef = (usize, usize);

impl MatrixLayout {
    /// The layout for `groups.len()` nodes, node `i` in group `groups[i]` (`0..g`, the finest
    /// public membership table the analyses aggregate by, numbered so that coarser tables nest
    /// in it as runs of consecutive ids), for a backend with `slots` slots in rows of
    /// `row_len`.
    ///
    /// # Errors
    /// No nodes; a row shorter than `n`; `row_len` not dividing `slots` into 1 or 2 rows; the
    /// bands do not fit (too many groups for the row).
    pub fn new(groups: &[usize], slots: usize, row_len: usize) -> Result<Self> {
        let n = groups.len();
        if n == 0 {
            return Err(refuse("a flow matrix needs at least one node"));
        }
        if row_len == 0 || !slots.is_multiple_of(row_len) || !(1..=2).contains(&(slots / row_len)) {
            return Err(refuse("slots must form one or two rotation rows"));
        }
        let per_row = row_len / n;
        if per_row == 0 {
            return Err(refuse(format!(
                "{n} nodes do not fit one rotation row of {row_len} slots: use a larger ring degree"
            )));
        }
        let g = groups.iter().max().map_or(0, |&x| x + 1);
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); g];
        for (i, &h) in groups.iter().enumerate() {
            members[h].push(i);
        }
        if members.iter().any(Vec::is_empty) {
            return Err(refuse(
                "an empty group: number the groups 0..g without gaps",
            ));
        }
        // Columns sorted by (group, node).
        let mut col = vec![0; n];
        for (c, &i) in members.iter().flatten().enumerate() {
            col[i] = c;
        }
        // Fewest rows whose bands fit.
        let mut rows = n.div_ceil(per_row);
        let widths = loop {
            let w: Vec<usize> = members.iter().map(|m| m.len().div_ceil(rows)).collect();
            if w.iter().sum::<usize>() <= per_row {
                break w;
            }
            if rows >= n {
                return Err(refuse("the groups' bands do not fit one rotation row"));
            }
            rows += 1;
        };
        let mut bands = Vec::with_capacity(g);
        let mut l0 = 0;
        for &w in &widths {
            bands.push((l0, w));
            l0 += w;
        }
        let mut place = vec![(0, 0); n];
        for (h, m) in members.iter().enumerate() {
            for (j, &i) in m.iter().enumerate() {
                place[i] = (j % rows, bands[h].0 + j / rows);
            }
        }
        Ok(Self {
            n,
            slots,
            row_len,
            rows_per_ct: slots / row_len,
            per_row,
            col,
            place,
            n_rows: rows,
            groups: groups.to_vec(),
            bands,
        })
    }

    /// Number of nodes.
    pub fn nodes(&self) -> usize {
        self.n
    }

    /// Number of ciphertexts one matrix takes.
    pub fn n_cts(&self) -> usize {
        self.n_rows.div_ceil(self.rows_per_ct)
    }

    /// Slots per ciphertext.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Column of node `d` (also its slot in the vector outputs).
    pub fn column(&self, d: usize) -> usize {
        self.col[d]
    }

    /// Group of node `i` in the layout's membership table.
    pub fn group_of(&self, i: usize) -> usize {
        self.groups[i]
    }

    /// Where cell `(o, d)` lives.
    pub fn cell(&self, o: usize, d: usize) -> SlotRef {
        let (r, local) = self.place[o];
        (
            r / self.rows_per_ct,
            (r % self.rows_per_ct) * self.row_len + local * self.n + self.col[d],
        )
    }

    /// Packs a matrix given cell by cell into per-ciphertext slot vectors.
    pub fn pack<V: SlotValue>(&self, cell: impl Fn(usize, usize) -> V) -> Packed<V> {
        let mut out = vec![vec![V::default(); self.slots]; self.n_cts()];
        for o in 0..self.n {
            for d in 0..self.n {
                let v = cell(o, d);
                if v != V::default() {
                    let (c, s) = self.cell(o, d);
                    out[c][s] = v;
                }
            }
        }
        out
    }

    /// Reads a matrix back from per-ciphertext slot vectors (tests, stand-in).
    pub fn unpack<V: SlotValue>(&self, data: &[Vec<V>]) -> Vec<V> {
        let mut m = vec![V::default(); self.n * self.n];
        for o in 0..self.n {
            for d in 0..self.n {
                let (c, s) = self.cell(o, d);
                if let Some(v) = data.get(c).and_then(|x| x.get(s)) {
                    m[o * self.n + d] = *v;
                }
            }
        }
        m
    }

    fn check<B: SlotBackend>(&self, be: &B, m: &[B::Ct]) -> Result<()> {
        if m.len() != self.n_cts() || be.slots() != self.slots || be.row_len() != self.row_len {
            return Err(refuse(format!(
                "the matrix needs {} ciphertexts of {} slots for this layout, got {} of {}",
                self.n_cts(),
                self.slots,
                m.len(),
                be.slots()
            )));
        }
        Ok(())
    }

    /// Folds the rows: the sum of all ciphertexts and (two-row schemes) both rows, so local
    /// block `i` of row 0 holds `Σ_{o at local i} M[o, ·]` (one row swap).
    ///
    /// # Errors
    /// Wrong number of ciphertexts; backend errors.
    pub fn fold<B: SlotBackend>(&self, be: &B, m: &[B::Ct]) -> Result<B::Ct> {
        self.check(be, m)?;
        let mut s = m[0].clone();
        for c in &m[1..] {
            s = be.add(&s, c)?;
        }
        if self.rows_per_ct == 2 && self.n_rows > 1 {
            let sw = be.swap_rows(&s)?;
            s = be.add(&s, &sw)?;
        }
        Ok(s)
    }

    /// Column sums `Σ_o M[o, d]` from the [`fold`](Self::fold)ed matrix; node `d` at slot
    /// [`column(d)`](Self::column) (all other slots zero).
    ///
    /// # Errors
    /// Backend errors.
    pub fn column_sums<B: SlotBackend>(&self, be: &B, folded: &B::Ct) -> Result<B::Ct> {
        let used: usize = self.bands.iter().map(|b| b.1).sum();
        let segs: Vec<Segment> = (0..self.n)
            .map(|c| Segment {
                ct: 0,
                start: c,
                len: used,
            })
            .collect();
        segment_sums(be, std::slice::from_ref(folded), self.n, &segs)?
            .pop()
            .flatten()
            .ok_or_else(|| refuse("empty column sums"))
    }

    /// Contiguous column range `(first, width)` of each group of `grouping`, and its band of
    /// locals `(first, width)`.
    fn ranges(&self, grouping: &[usize]) -> Result<Vec<Ranges>> {
        if grouping.len() != self.n {
            return Err(Error::LengthMismatch {
                expected: self.n,
                found: grouping.len(),
            });
        }
        let g = grouping.iter().max().map_or(0, |&x| x + 1);
        let mut cols: Vec<Vec<usize>> = vec![Vec::new(); g];
        let mut lay: Vec<Vec<usize>> = vec![Vec::new(); g];
        for d in 0..self.n {
            cols[grouping[d]].push(self.col[d]);
            lay[grouping[d]].push(self.groups[d]);
        }
        let nest_err = || {
            refuse("a grouping does not nest in the layout's membership table as runs of consecutive groups: build the layout from the finest table, numbered coarse-major")
        };
        let mut out = Vec::with_capacity(g);
        for h in 0..g {
            if cols[h].is_empty() {
                return Err(refuse(
                    "an empty group: number the groups 0..g without gaps",
                ));
            }
            let (c0, c1) = (
                *cols[h].iter().min().unwrap_or(&0),
                *cols[h].iter().max().unwrap_or(&0),
            );
            if c1 - c0 + 1 != cols[h].len() {
                return Err(nest_err());
            }
            // every layout group inside h must be wholly inside h
            lay[h].sort_unstable();
            lay[h].dedup();
            for &lg in &lay[h] {
                if (0..self.n).any(|i| self.groups[i] == lg && grouping[i] != h) {
                    return Err(nest_err());
                }
            }
            let (l0, l1) = (
                lay[h].iter().map(|&lg| self.bands[lg].0).min().unwrap_or(0),
                lay[h]
                    .iter()
                    .map(|&lg| self.bands[lg].0 + self.bands[lg].1)
                    .max()
                    .unwrap_or(0),
            );
            let width: usize = lay[h].iter().map(|&lg| self.bands[lg].1).sum();
            if l1 - l0 != width {
                return Err(nest_err());
            }
            out.push(((c0, c1 - c0 + 1), (l0, width)));
        }
        Ok(out)
    }

    /// Box sums `Σ_{o ∈ h, d ∈ g} M[o, d]` for the groups of `grouping` (node -> group `0..g`,
    /// nested in the layout's table) from the [`fold`](Self::fold)ed matrix: a window over each
    /// group's band of locals (stride `n`), then over each group's columns (stride 1). Returns
    /// one ciphertext and, for cell `(h, g)` at index `h·g_count + g`, its slot.
    ///
    /// # Errors
    /// A grouping that does not nest in the layout's table; backend errors.
    pub fn group_sums<B: SlotBackend>(
        &self,
        be: &B,
        folded: &B::Ct,
        grouping: &[usize],
    ) -> Result<(B::Ct, Vec<usize>)> {
        let r = self.ranges(grouping)?;
        let segs: Vec<Segment> = r
            .iter()
            .flat_map(|&(_, (l0, w))| {
                (0..self.n).map(move |c| Segment {
                    ct: 0,
                    start: l0 * self.n + c,
                    len: w,
                })
            })
            .collect();
        let t = segment_sums(be, std::slice::from_ref(folded), self.n, &segs)?
            .pop()
            .flatten()
            .ok_or_else(|| refuse("empty grouping"))?;
        let mut segs = Vec::new();
        let mut slots = Vec::new();
        for &(_, (l0, _)) in &r {
            for &((c0, w), _) in &r {
                segs.push(Segment {
                    ct: 0,
                    start: l0 * self.n + c0,
                    len: w,
                });
                slots.push(l0 * self.n + c0);
            }
        }
        let out = segment_sums(be, std::slice::from_ref(&t), 1, &segs)?
            .pop()
            .flatten()
            .ok_or_else(|| refuse("empty grouping"))?;
        Ok((out, slots))
    }

    /// The column run `(first, width)` of each group of `grouping`.
    ///
    /// # Errors
    /// A grouping that does not nest in the layout's table.
    pub fn column_ranges(&self, grouping: &[usize]) -> Result<Vec<(usize, usize)>> {
        Ok(self.ranges(grouping)?.into_iter().map(|(c, _)| c).collect())
    }
}

/// Sums of a node vector (node `i` at slot `column(i)` of one ciphertext) over the groups of
/// `grouping` (contiguous in the layout's columns); group `h`'s total at the returned slot.
///
/// # Errors
/// A grouping that is not contiguous; backend errors.
pub fn group_vector_sums<B: SlotBackend>(
    be: &B,
    layout: &MatrixLayout,
    v: &B::Ct,
    grouping: &[usize],
) -> Result<(B::Ct, Vec<usize>)> {
    let cols = layout.column_ranges(grouping)?;
    let segs: Vec<Segment> = cols
        .iter()
        .map(|&(c0, w)| Segment {
            ct: 0,
            start: c0,
            len: w,
        })
        .collect();
    let out = segment_sums(be, std::slice::from_ref(v), 1, &segs)?
        .pop()
        .flatten()
        .ok_or_else(|| refuse("empty grouping"))?;
    Ok((out, cols.iter().map(|&(c0, _)| c0).collect()))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]
mod tests {
    use super::*;
    use crate::analytics::backend::{PlainCt, PlainInt};

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, m: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % m
        }
    }

    #[test]
    fn segment_sums_match_naive() {
        let be = PlainInt::new(512, 2, 1 << 40).unwrap();
        let mut g = Lcg(3);
        let x: Vec<i64> = (0..512).map(|_| g.next(1000) as i64).collect();
        let ct = PlainCt(x.clone());
        for stride in [1usize, 3, 17] {
            let mut segs = Vec::new();
            let mut used = vec![false; 512];
            for _ in 0..12 {
                let row = g.next(2) as usize * 256;
                let len = 1 + g.next(9) as usize;
                let span = (len - 1) * stride;
                if span >= 256 {
                    continue;
                }
                let start = row + g.next((256 - span) as u64) as usize;
                if std::mem::replace(&mut used[start], true) {
                    continue;
                }
                segs.push(Segment { ct: 0, start, len });
            }
            let out = segment_sums(&be, std::slice::from_ref(&ct), stride, &segs).unwrap();
            let out = out[0].as_ref().unwrap();
            for s in &segs {
                let want: i64 = (0..s.len).map(|j| x[s.start + j * stride]).sum();
                assert_eq!(out.0[s.start], want, "stride {stride} {s:?}");
            }
            for (p, &v) in out.0.iter().enumerate() {
                if !used[p] {
                    assert_eq!(v, 0, "slot {p} not masked");
                }
            }
        }
        let bad = [Segment {
            ct: 0,
            start: 250,
            len: 10,
        }];
        assert!(segment_sums(&be, std::slice::from_ref(&ct), 1, &bad).is_err());
    }

    #[test]
    fn layout_sums_match_naive_for_random_groupings() {
        let mut g = Lcg(11);
        for case in 0..6 {
            let n = 20 + g.next(40) as usize;
            let groups_n = 2 + g.next(6) as usize;
            let mut groups: Vec<usize> = (0..n).map(|i| i % groups_n).collect();
            for i in (1..n).rev() {
                groups.swap(i, g.next(i as u64 + 1) as usize);
            }
            let be = PlainInt::new(4096, 2, 1 << 40).unwrap();
            let layout = MatrixLayout::new(&groups, 4096, 2048).unwrap();
            assert!(matches!(
                MatrixLayout::new(&groups, 64, 32),
                Err(Error::Analytics { .. })
            ));
            let m: Vec<i64> = (0..n * n).map(|_| g.next(50) as i64).collect();
            let mut seen = std::collections::BTreeSet::new();
            for o in 0..n {
                for d in 0..n {
                    assert!(
                        seen.insert(layout.cell(o, d)),
                        "case {case}: two cells share a slot"
                    );
                }
            }
            let cts: Vec<PlainCt<i64>> = layout
                .pack(|o, d| m[o * n + d])
                .into_iter()
                .map(PlainCt)
                .collect();
            let folded = layout.fold(&be, &cts).unwrap();
            let cols = layout.column_sums(&be, &folded).unwrap();
            for d in 0..n {
                let want: i64 = (0..n).map(|o| m[o * n + d]).sum();
                assert_eq!(cols.0[layout.column(d)], want);
            }
            // the layout's own groups, and a coarser grouping (pairs of groups)
            for grouping in [groups.clone(), groups.iter().map(|&x| x / 2).collect()] {
                let gn = grouping.iter().max().unwrap() + 1;
                let (ct, slots) = layout.group_sums(&be, &folded, &grouping).unwrap();
                for h in 0..gn {
                    for k in 0..gn {
                        let want: i64 = (0..n)
                            .flat_map(|o| (0..n).map(move |d| (o, d)))
                            .filter(|&(o, d)| grouping[o] == h && grouping[d] == k)
                            .map(|(o, d)| m[o * n + d])
                            .sum();
                        assert_eq!(ct.0[slots[h * gn + k]], want, "case {case}");
                    }
                }
            }
            // a grouping that cuts a layout group is refused
            if groups.iter().filter(|&&x| x == 0).count() > 1 {
                let mut cut = groups.clone();
                let first = cut.iter().position(|&x| x == 0).unwrap();
                cut[first] = groups_n;
                assert!(layout.group_sums(&be, &folded, &cut).is_err());
            }
        }
    }
}
