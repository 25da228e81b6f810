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
//! ## Matrix layout
//! An `n × n` matrix is stored row-major with row width `n`: origin `o` occupies the `n` slots
//! from `local(o)·n` of one rotation row, `⌊row_len / n⌋` origins per row; destination `d` is
//! at column `col(d)`. Columns are sorted by group (the finest public membership table used,
//! numbered so that coarser tables nest in it), so every group is a contiguous run of columns; origins are packed into rows group by group
//! (first fit), a group larger than a row filling whole rows and its remainder
//! starting a fresh row, so the pieces of a split group all start at local index 0 (groups in
//! id order, so a layout that fits one row keeps the column order and every nested table stays
//! contiguous). Group
//! (box) sums then need: destination windows (stride 1), origin windows inside each row
//! (stride `n`), and moving the partial sums of split groups onto their first piece (a row swap
//! and/or a rotation, usually none). Column sums add all ciphertexts and both rows first, then
//! sum one stride-`n` window: `log2(origins per row) + 2` rotations in all.

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
                let term = mask(be, src, starts)?;
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
}

/// One ciphertext slot: `(ciphertext index, slot index)`.
pub type SlotRef = (usize, usize);

impl MatrixLayout {
    /// The layout for `groups.len()` nodes, node `i` in group `groups[i]` (the coarsest public
    /// membership table the analyses aggregate by; finer tables must nest in it), for a
    /// backend with `slots` slots in rows of `row_len`.
    ///
    /// # Errors
    /// No nodes; a row shorter than `n`; `row_len` not dividing `slots` into 1 or 2 rows.
    pub fn new(groups: &[usize], slots: usize, row_len: usize) -> Result<Self> {
        let n = groups.len();
        if n == 0 {
            return Err(refuse("a flow matrix needs at least one node"));
        }
        if row_len == 0 || slots % row_len != 0 || !(1..=2).contains(&(slots / row_len)) {
            return Err(refuse("slots must form one or two rotation rows"));
        }
        let per_row = row_len / n;
        if per_row == 0 {
            return Err(refuse(format!(
                "{n} nodes do not fit one rotation row of {row_len} slots: use a larger ring degree"
            )));
        }
        // Columns sorted by (group, node).
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (groups[i], i));
        let mut col = vec![0; n];
        for (c, &i) in order.iter().enumerate() {
            col[i] = c;
        }
        // Members per group in column order; groups by decreasing size.
        let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &i in &order {
            members.entry(groups[i]).or_default().push(i);
        }
        let gs: Vec<(usize, Vec<usize>)> = members.into_iter().collect();
        let mut used: Vec<usize> = Vec::new();
        let mut place = vec![(0, 0); n];
        for (_, m) in &gs {
            if m.len() <= per_row {
                let r = match used.iter().position(|&u| u + m.len() <= per_row) {
                    Some(r) => r,
                    None => {
                        used.push(0);
                        used.len() - 1
                    }
                };
                for &i in m {
                    place[i] = (r, used[r]);
                    used[r] += 1;
                }
            } else {
                for chunk in m.chunks(per_row) {
                    used.push(0);
                    let r = used.len() - 1;
                    for &i in chunk {
                        place[i] = (r, used[r]);
                        used[r] += 1;
                    }
                }
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
            n_rows: used.len(),
            groups: groups.to_vec(),
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

    fn row_base(&self, global_row: usize) -> SlotRef {
        (
            global_row / self.rows_per_ct,
            (global_row % self.rows_per_ct) * self.row_len,
        )
    }

    /// Where cell `(o, d)` lives.
    pub fn cell(&self, o: usize, d: usize) -> SlotRef {
        let (r, local) = self.place[o];
        let (ct, base) = self.row_base(r);
        (ct, base + local * self.n + self.col[d])
    }

    /// Packs a matrix given cell by cell into per-ciphertext slot vectors.
    pub fn pack<V: SlotValue>(&self, cell: impl Fn(usize, usize) -> V) -> Vec<Vec<V>> {
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

    /// Column sums `Σ_o M[o, d]`, node `d` at slot [`column(d)`](Self::column) of the result
    /// (all other slots zero).
    ///
    /// # Errors
    /// Wrong number of ciphertexts; backend errors.
    pub fn column_sums<B: SlotBackend>(&self, be: &B, m: &[B::Ct]) -> Result<B::Ct> {
        self.check(be, m)?;
        let mut s = m[0].clone();
        for c in &m[1..] {
            s = be.add(&s, c)?;
        }
        if self.rows_per_ct == 2 && self.n_rows > 1 {
            let sw = be.swap_rows(&s)?;
            s = be.add(&s, &sw)?;
        }
        let used = self.per_row.min(self.n);
        let segs: Vec<Segment> = (0..self.n)
            .map(|c| Segment {
                ct: 0,
                start: c,
                len: used,
            })
            .collect();
        segment_sums(be, std::slice::from_ref(&s), self.n, &segs)?
            .pop()
            .flatten()
            .ok_or_else(|| refuse("empty column sums"))
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

    /// Contiguous column range of each group of `grouping` (node -> group id `0..g`).
    fn column_ranges(&self, grouping: &[usize], g: usize) -> Result<Vec<(usize, usize)>> {
        let mut ranges: Vec<Option<(usize, usize)>> = vec![None; g];
        let mut count = vec![0usize; g];
        for d in 0..self.n {
            let h = grouping[d];
            let c = self.col[d];
            count[h] += 1;
            ranges[h] = Some(match ranges[h] {
                None => (c, c),
                Some((a, b)) => (a.min(c), b.max(c)),
            });
        }
        ranges
            .into_iter()
            .zip(count)
            .map(|(r, k)| match r {
                Some((a, b)) if b - a + 1 == k => Ok((a, k)),
                Some(_) => Err(refuse(
                    "a group is not contiguous in the layout: build the layout from a membership table this grouping nests in",
                )),
                None => Err(refuse("an empty group: number the groups 0..g without gaps")),
            })
            .collect()
    }

    /// Box sums `Σ_{o ∈ h, d ∈ g} M[o, d]` for the groups of `grouping` (node -> group
    /// `0..g`, nested in the layout's table). Returns the result ciphertexts and, for cell
    /// `(h, g)` at index `h·g_count + g`, where it lies.
    ///
    /// # Errors
    /// A grouping that does not nest in the layout's table; backend errors.
    pub fn group_sums<B: SlotBackend>(
        &self,
        be: &B,
        m: &[B::Ct],
        grouping: &[usize],
    ) -> Result<(Vec<B::Ct>, Vec<SlotRef>)> {
        self.check(be, m)?;
        if grouping.len() != self.n {
            return Err(Error::LengthMismatch {
                expected: self.n,
                found: grouping.len(),
            });
        }
        let g = grouping.iter().max().map_or(0, |&x| x + 1);
        let cols = self.column_ranges(grouping, g)?;
        // 1. destination windows for every used origin slot.
        let mut segs = Vec::new();
        for o in 0..self.n {
            let (r, local) = self.place[o];
            let (ct, base) = self.row_base(r);
            for &(c0, w) in &cols {
                segs.push(Segment {
                    ct,
                    start: base + local * self.n + c0,
                    len: w,
                });
            }
        }
        let d = segment_sums(be, m, 1, &segs)?;
        let d: Vec<B::Ct> = d
            .into_iter()
            .zip(m)
            .map(|(x, orig)| x.unwrap_or_else(|| orig.clone()))
            .collect();
        // 2. origin pieces: (group h, global row) -> (first local, count).
        let mut pieces: BTreeMap<(usize, usize), (usize, usize)> = BTreeMap::new();
        for o in 0..self.n {
            let (r, local) = self.place[o];
            let e = pieces.entry((grouping[o], r)).or_insert((local, 0));
            e.0 = e.0.min(local);
            e.1 += 1;
        }
        for (&(h, r), &(l0, k)) in &pieces {
            let all = (0..self.n).filter(|&o| grouping[o] == h && self.place[o].0 == r);
            if all.clone().any(|o| self.place[o].1 >= l0 + k) {
                return Err(refuse(format!(
                    "group {h} is not contiguous in row {r} of the layout: build the layout from a membership table this grouping nests in"
                )));
            }
        }
        let mut segs = Vec::new();
        for (&(_, r), &(l0, k)) in &pieces {
            let (ct, base) = self.row_base(r);
            for &(c0, _) in &cols {
                segs.push(Segment {
                    ct,
                    start: base + l0 * self.n + c0,
                    len: k,
                });
            }
        }
        let e = segment_sums(be, &d, self.n, &segs)?;
        // 3. anchors: first piece of each group.
        let mut anchor: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
        for (&(h, r), &(l0, _)) in &pieces {
            anchor.entry(h).or_insert((r, l0));
        }
        let mut acc: Vec<Option<B::Ct>> = e.clone();
        // moves grouped by (src ct, dst ct, swap, shift)
        let mut moves: BTreeMap<(usize, usize, bool, usize), Vec<usize>> = BTreeMap::new();
        for (&(h, r), &(l0, _)) in &pieces {
            let (ar, al) = anchor[&h];
            if (ar, al) == (r, l0) {
                continue;
            }
            let (sct, sbase) = self.row_base(r);
            let (dct, dbase) = self.row_base(ar);
            let swap = sbase != dbase;
            let shift = (l0 * self.n + self.row_len - al * self.n) % self.row_len;
            let positions = moves.entry((sct, dct, swap, shift)).or_default();
            for &(c0, _) in &cols {
                positions.push(sbase + l0 * self.n + c0);
            }
        }
        for ((sct, dct, swap, shift), positions) in moves {
            let src = e[sct]
                .as_ref()
                .ok_or_else(|| refuse("missing partial sums"))?;
            let mut t = mask(be, src, &positions)?;
            if shift != 0 {
                t = be.rotate(&t, shift)?;
            }
            if swap {
                t = be.swap_rows(&t)?;
            }
            acc[dct] = Some(match acc[dct].take() {
                None => t,
                Some(a) => be.add(&a, &t)?,
            });
        }
        // 4. final masks at the anchor cells.
        let mut refs = vec![(0, 0); g * g];
        let mut keep: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (&h, &(ar, al)) in &anchor {
            let (ct, base) = self.row_base(ar);
            for (gi, &(c0, _)) in cols.iter().enumerate() {
                let s = base + al * self.n + c0;
                refs[h * g + gi] = (ct, s);
                keep.entry(ct).or_default().push(s);
            }
        }
        let mut out_cts = Vec::new();
        let mut renumber = BTreeMap::new();
        for (ct, positions) in keep {
            let src = acc[ct]
                .as_ref()
                .ok_or_else(|| refuse("missing group sums"))?;
            renumber.insert(ct, out_cts.len());
            out_cts.push(mask(be, src, &positions)?);
        }
        for r in &mut refs {
            r.0 = renumber[&r.0];
        }
        Ok((out_cts, refs))
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
    let g = grouping.iter().max().map_or(0, |&x| x + 1);
    let cols = layout.column_ranges(grouping, g)?;
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
