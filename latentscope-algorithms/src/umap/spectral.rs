//! Spectral initialisation: the two smallest non-trivial eigenvectors of the normalised graph
//! Laplacian `I - D^-1/2 W D^-1/2`, found by Lanczos with full reorthogonalisation.

use faer::{Mat, Side};
use rayon::prelude::*;

use super::error::UmapError;
use super::fuzzy::Graph;
use super::knn::report;
use super::rng::Rng;
use crate::progress::Progress;

const CHUNK: usize = 4096;

/// The largest residual of an accepted spectral layout.
const ACCEPTED_RESIDUAL: f64 = 1e-2;

/// Graphs above this many nodes stop Lanczos at [`ACCEPTED_RESIDUAL`].
const LARGE_GRAPH: usize = 100_000;

/// Why the spectral layout could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpectralFailure {
    /// Too few nodes, or a node without edges.
    Disconnected,
    /// Lanczos did not converge.
    NotConverged,
}

/// Deterministic dot product (fixed chunking, fixed summation order).
fn pdot(a: &[f64], b: &[f64]) -> f64 {
    let parts: Vec<f64> = a
        .par_chunks(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum::<f64>())
        .collect();
    parts.iter().sum()
}

/// The element type of the Lanczos basis: `f64` for graphs up to
/// [`LARGE_GRAPH`] nodes; `f32` above, which halves the reorthogonalisation's
/// reads of a basis of hundreds of MB, while its rounding (1e-7) stays far
/// below the residual accepted there ([`ACCEPTED_RESIDUAL`]).
trait Basis: Copy + Send + Sync {
    fn of(v: f64) -> Self;
    fn get(self) -> f64;
}

impl Basis for f64 {
    #[inline]
    fn of(v: f64) -> Self {
        v
    }
    #[inline]
    fn get(self) -> f64 {
        self
    }
}

impl Basis for f32 {
    #[inline]
    fn of(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn get(self) -> f64 {
        f64::from(self)
    }
}

struct Op<'a> {
    /// Edge range of each graph node (global numbering).
    row_ptr: &'a [usize],
    /// Local row → graph node, when laying out one component of the graph.
    nodes: Option<&'a [u32]>,
    /// Graph node → local row (with `nodes`).
    local: Option<&'a [u32]>,
    col: &'a [u32],
    /// Edge weights; an entry of the operator is `w · dis[row] · dis[col]`,
    /// applied as scalings on both sides rather than stored (n·k f64s less at scale).
    weight: &'a [f32],
    dis: Vec<f64>,
}

impl Op<'_> {
    /// `y = D^-1/2 W D^-1/2 x`, as `dis ⊙ (W (dis ⊙ x))`: one scaled copy of
    /// `x` read at random per edge, rather than `dis` and `x` both.
    /// `z` is scratch: of `x`'s length, or of the whole graph's when `x` is
    /// one component of it ([`Op::scratch_len`]).
    fn apply<T: Basis>(&self, x: &[T], z: &mut [f64], y: &mut [f64]) {
        // Indexed by graph node, `z` saves the random read of `local` on
        // every edge; its other components' nodes are never read (no edge
        // leaves a component).
        let by_node = self.nodes.filter(|_| z.len() != x.len());
        match by_node {
            Some(nodes) => {
                for ((&gi, v), d) in nodes.iter().zip(x).zip(&self.dis) {
                    z[gi as usize] = v.get() * d;
                }
            }
            None => z
                .par_iter_mut()
                .zip(x.par_iter().zip(&self.dis))
                .for_each(|(zv, (v, d))| *zv = v.get() * d),
        }
        let z = &*z;
        let local = self.local.filter(|_| by_node.is_none());
        y.par_chunks_mut(CHUNK).enumerate().for_each(|(c, ys)| {
            for (r, yv) in ys.iter_mut().enumerate() {
                let i = c * CHUNK + r;
                let mut s = 0.0;
                let gi = self.nodes.map_or(i, |nodes| nodes[i] as usize);
                let edges = self.row_ptr[gi]..self.row_ptr[gi + 1];
                match local {
                    Some(local) => {
                        for e in edges {
                            let t = local[self.col[e] as usize] as usize;
                            s += f64::from(self.weight[e]) * z[t];
                        }
                    }
                    None => {
                        for e in edges {
                            s += f64::from(self.weight[e]) * z[self.col[e] as usize];
                        }
                    }
                }
                *yv = s * self.dis[i];
            }
        });
    }

    /// The length of [`Op::apply`]'s scratch for `n` rows: the whole graph's
    /// for a large component of it, `n` otherwise (a small component's rows
    /// are not worth a scratch of the whole graph's length).
    fn scratch_len(&self, n: usize) -> usize {
        match self.nodes {
            Some(_) if n > LARGE_GRAPH => self.row_ptr.len() - 1,
            _ => n,
        }
    }
}

/// Orthogonalises `w` against `basis`: two passes of classical Gram-Schmidt,
/// or for large graphs (where each pass reads a basis of hundreds of MB) one,
/// and a second only where the first shrank `w` by more than 10⁴ (one pass
/// leaves it orthogonal to about that factor times machine precision, far
/// below the residual a layout needs).
fn reorth<T: Basis>(w: &mut [f64], basis: &[Vec<T>], large: bool) {
    if !large {
        gram_schmidt(w, basis);
        gram_schmidt(w, basis);
        return;
    }
    let before = pdot(w, w);
    gram_schmidt(w, basis);
    if pdot(w, w) < 1e-8 * before {
        gram_schmidt(w, basis);
    }
}

/// One pass of classical Gram-Schmidt of `w` against `basis`.
fn gram_schmidt<T: Basis>(w: &mut [f64], basis: &[Vec<T>]) {
    let nch = w.len().div_ceil(CHUNK);
    let partials: Vec<Vec<f64>> = (0..nch)
        .into_par_iter()
        .map(|c| {
            let r = c * CHUNK..((c + 1) * CHUNK).min(w.len());
            basis
                .iter()
                .map(|q| {
                    q[r.clone()]
                        .iter()
                        .zip(&w[r.clone()])
                        .map(|(a, b)| a.get() * b)
                        .sum::<f64>()
                })
                .collect()
        })
        .collect();
    let mut coef = vec![0.0; basis.len()];
    for p in &partials {
        for (c, v) in coef.iter_mut().zip(p) {
            *c += v;
        }
    }
    w.par_chunks_mut(CHUNK).enumerate().for_each(|(c, ws)| {
        let off = c * CHUNK;
        for (q, &cf) in basis.iter().zip(&coef) {
            for (t, wv) in ws.iter_mut().enumerate() {
                *wv -= cf * q[off + t].get();
            }
        }
    });
}

/// The edge range of each node of `g` (sorted by head, so already in CSR order).
pub(crate) fn row_starts(g: &Graph) -> Vec<usize> {
    let mut row_ptr = vec![0usize; g.n + 1];
    for &h in &g.head {
        row_ptr[h as usize + 1] += 1;
    }
    for i in 0..g.n {
        row_ptr[i + 1] += row_ptr[i];
    }
    row_ptr
}

/// One connected component of a graph, laid out without copying its edges.
pub(crate) struct Part<'a> {
    /// The graph's edge range of each node ([`row_starts`]).
    pub(crate) row_ptr: &'a [usize],
    /// The component's nodes, ascending.
    pub(crate) nodes: &'a [u32],
    /// Each graph node's position in its own component's `nodes`.
    pub(crate) local: &'a [u32],
}

/// The spectral layout (n x 2, row-major) of a connected graph, or of one
/// connected component of it (`part`; the caller splits a disconnected graph:
/// `components::components`), or why it is not available.
pub(crate) fn spectral_layout(
    g: &Graph,
    part: Option<Part<'_>>,
    seed: u64,
    progress: &dyn Progress,
) -> Result<Result<Vec<f64>, SpectralFailure>, UmapError> {
    let own_rows;
    let (row_ptr, nodes, local) = match part {
        Some(p) => (p.row_ptr, Some(p.nodes), Some(p.local)),
        None => {
            own_rows = row_starts(g);
            (&own_rows[..], None, None)
        }
    };
    let n = nodes.map_or(g.n, <[u32]>::len);
    if n < 4 {
        return Ok(Err(SpectralFailure::Disconnected));
    }
    // Degrees and the normalised operator D^-1/2 W D^-1/2 in CSR form.
    let deg: Vec<f64> = (0..n)
        .map(|i| {
            let gi = nodes.map_or(i, |nodes| nodes[i] as usize);
            g.weight[row_ptr[gi]..row_ptr[gi + 1]]
                .iter()
                .fold(0.0f64, |s, &w| s + f64::from(w))
        })
        .collect();
    if deg.iter().any(|&d| d <= 0.0 || !d.is_finite()) {
        return Ok(Err(SpectralFailure::Disconnected));
    }
    let dis: Vec<f64> = deg.iter().map(|d| 1.0 / d.sqrt()).collect();
    let op = Op {
        row_ptr,
        nodes,
        local,
        col: &g.tail,
        weight: &g.weight,
        dis,
    };
    let mut v0: Vec<f64> = deg.iter().map(|d| d.sqrt()).collect();
    let nv0 = pdot(&v0, &v0).sqrt();
    v0.iter_mut().for_each(|v| *v /= nv0);
    drop(deg);
    if n > LARGE_GRAPH {
        lanczos::<f32>(&op, &v0, seed, progress)
    } else {
        lanczos::<f64>(&op, &v0, seed, progress)
    }
}

/// The top two non-trivial eigenvectors of `op` (orthogonal to its known top
/// eigenvector `v0`), as an n x 2 layout, by Lanczos with its basis in `T`.
fn lanczos<T: Basis>(
    op: &Op<'_>,
    v0: &[f64],
    seed: u64,
    progress: &dyn Progress,
) -> Result<Result<Vec<f64>, SpectralFailure>, UmapError> {
    let n = v0.len();

    let max_m = (n - 1).min(300);
    let mut rng = Rng::new(seed);
    let mut q: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    let mut basis: Vec<Vec<T>> = vec![v0.iter().map(|&v| T::of(v)).collect()];
    let large = n > LARGE_GRAPH;
    reorth(&mut q, &basis, large);
    let nq = pdot(&q, &q).sqrt();
    q.iter_mut().for_each(|v| *v /= nq);
    let mut alphas: Vec<f64> = Vec::new();
    let mut betas: Vec<f64> = Vec::new();
    let mut w = vec![0.0f64; n];
    let mut scratch = vec![0.0f64; op.scratch_len(n)];
    // The residual is checked every 10 steps, or every 5 on large graphs,
    // whose steps cost more than the small eigenproblem.
    let every = if large { 5 } else { 10 };
    // Above 100k nodes every Lanczos step costs a pass over a basis of
    // that length, and only the rough shape of the start matters: stop at
    // the residual that is accepted anyway (smaller graphs keep the
    // tighter target, and their results).
    let tol = if large { ACCEPTED_RESIDUAL } else { 1e-4 };
    let mut best: Option<(f64, Vec<[f64; 2]>)> = None;
    for j in 0..max_m {
        op.apply(&q, &mut scratch, &mut w);
        let alpha = pdot(&w, &q);
        basis.push(q.par_iter().map(|&v| T::of(v)).collect());
        reorth(&mut w, &basis, large);
        let beta = pdot(&w, &w).sqrt();
        alphas.push(alpha);
        let m = j + 1;
        let exhausted = beta < 1e-10 || m == max_m;
        if m >= 10 && (m % every == 0 || exhausted) {
            // Eigen-decomposition of the tridiagonal T (m x m).
            let t = Mat::<f64>::from_fn(m, m, |r, c| {
                if r == c {
                    alphas[r]
                } else if r + 1 == c {
                    betas[r]
                } else if c + 1 == r {
                    betas[c]
                } else {
                    0.0
                }
            });
            let Ok(evd) = t.self_adjoint_eigen(Side::Lower) else {
                return Ok(Err(SpectralFailure::NotConverged));
            };
            let u = evd.U();
            // Largest two eigenvalues of the operator are the last two columns.
            let cols = [m - 1, m - 2];
            let res: f64 = cols
                .iter()
                .map(|&c| (beta * u[(m - 1, c)]).abs())
                .fold(0.0, f64::max);
            if res.is_finite() && best.as_ref().is_none_or(|b| res < b.0) {
                let coefs: Vec<[f64; 2]> =
                    (0..m).map(|r| [u[(r, cols[0])], u[(r, cols[1])]]).collect();
                best = Some((res, coefs));
            }
            report(progress, "umap:init", m, max_m)?;
            if res < tol || beta < 1e-10 {
                break;
            }
        }
        if exhausted {
            break;
        }
        betas.push(beta);
        q.par_iter_mut().zip(&w).for_each(|(qv, v)| *qv = v / beta);
    }
    // Accept a looser residual than the target: only the rough shape of the layout matters.
    let coefs = match best {
        Some((res, c)) if res < ACCEPTED_RESIDUAL => c,
        _ => return Ok(Err(SpectralFailure::NotConverged)),
    };
    let mut y = vec![0.0f64; 2 * n];
    y.par_chunks_mut(2 * CHUNK).enumerate().for_each(|(c, ys)| {
        let off = c * CHUNK;
        for (r, cf) in coefs.iter().enumerate() {
            let qv = &basis[r + 1];
            for (t, yv) in ys.chunks_mut(2).enumerate() {
                yv[0] += cf[0] * qv[off + t].get();
                yv[1] += cf[1] * qv[off + t].get();
            }
        }
    });
    Ok(Ok(y))
}
