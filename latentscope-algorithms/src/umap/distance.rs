//! Dot-product and squared-distance kernels with an AVX2 path chosen at run time.

/// A distance kernel between two equal-length rows.
pub(crate) type DistFn = fn(&[f32], &[f32]) -> f32;

/// The dot product of two equal-length int8 rows whose values lie in -127..=127.
pub(crate) type IntDotFn = fn(&[i8], &[i8]) -> i32;

/// The dot products of one int8 row `a` with rows of a table: `out[t]` is
/// `a` · row `rows[t]` of `data` (rows of `a.len()` values), the same
/// integers as [`IntDotFn`] gives. Values lie in -127..=127; `rows` index
/// rows of `data`.
pub(crate) type IntDotsFn = fn(&[i8], &[i8], &[u32], &mut [i32]);

/// [`IntDotsFn`] by one call of `kernel` per row.
#[inline]
fn dots_by(
    kernel: impl Fn(&[i8], &[i8]) -> i32,
    a: &[i8],
    data: &[i8],
    rows: &[u32],
    out: &mut [i32],
) {
    let d = a.len();
    for (o, &r) in out.iter_mut().zip(rows) {
        let r = r as usize;
        *o = kernel(a, &data[r * d..(r + 1) * d]);
    }
}

fn int_dot_scalar(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    s
}

fn sqdist_scalar(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += (x - y) * (x - y);
    }
    s
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut acc2 = _mm256_setzero_ps();
        let mut acc3 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: every load reads 8 floats at offsets below `n`.
        unsafe {
            while i + 32 <= n {
                acc0 =
                    _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
                acc1 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(pa.add(i + 8)),
                    _mm256_loadu_ps(pb.add(i + 8)),
                    acc1,
                );
                acc2 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(pa.add(i + 16)),
                    _mm256_loadu_ps(pb.add(i + 16)),
                    acc2,
                );
                acc3 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(pa.add(i + 24)),
                    _mm256_loadu_ps(pb.add(i + 24)),
                    acc3,
                );
                i += 32;
            }
            while i + 8 <= n {
                acc0 =
                    _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
                i += 8;
            }
            let mut s = hsum(_mm256_add_ps(
                _mm256_add_ps(acc0, acc1),
                _mm256_add_ps(acc2, acc3),
            ));
            while i < n {
                s += *pa.add(i) * *pb.add(i);
                i += 1;
            }
            s
        }
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn sqdist(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: every load reads 8 floats at offsets below `n`.
        unsafe {
            while i + 16 <= n {
                let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                let d1 = _mm256_sub_ps(
                    _mm256_loadu_ps(pa.add(i + 8)),
                    _mm256_loadu_ps(pb.add(i + 8)),
                );
                acc0 = _mm256_fmadd_ps(d0, d0, acc0);
                acc1 = _mm256_fmadd_ps(d1, d1, acc1);
                i += 16;
            }
            while i + 8 <= n {
                let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                acc0 = _mm256_fmadd_ps(d0, d0, acc0);
                i += 8;
            }
            let mut s = hsum(_mm256_add_ps(acc0, acc1));
            while i < n {
                let d = *pa.add(i) - *pb.add(i);
                s += d * d;
                i += 1;
            }
            s
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx_int {
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX2, and no value may be -128 (the pairwise sums
    /// of `maddubs` then stay within i16).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn int_dot(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let ones = _mm256_set1_epi16(1);
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        let mut i = 0;
        // SAFETY: every load reads 32 bytes at offsets below `n`.
        unsafe {
            while i + 64 <= n {
                let a0 = _mm256_loadu_si256(pa.add(i).cast());
                let b0 = _mm256_loadu_si256(pb.add(i).cast());
                let a1 = _mm256_loadu_si256(pa.add(i + 32).cast());
                let b1 = _mm256_loadu_si256(pb.add(i + 32).cast());
                let p0 = _mm256_maddubs_epi16(_mm256_abs_epi8(a0), _mm256_sign_epi8(b0, a0));
                let p1 = _mm256_maddubs_epi16(_mm256_abs_epi8(a1), _mm256_sign_epi8(b1, a1));
                acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p0, ones));
                acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(p1, ones));
                i += 64;
            }
            while i + 32 <= n {
                let a0 = _mm256_loadu_si256(pa.add(i).cast());
                let b0 = _mm256_loadu_si256(pb.add(i).cast());
                let p0 = _mm256_maddubs_epi16(_mm256_abs_epi8(a0), _mm256_sign_epi8(b0, a0));
                acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p0, ones));
                i += 32;
            }
            sum_and_rest(_mm256_add_epi32(acc0, acc1), a, b, i)
        }
    }

    /// The sum of `acc`'s eight lanes plus the products of `a` and `b` from
    /// `from` on, one byte at a time: the tail both int8 kernels share.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn sum_and_rest(acc: __m256i, a: &[i8], b: &[i8], from: usize) -> i32 {
        let rest: i32 = a
            .iter()
            .zip(b)
            .skip(from)
            .map(|(&x, &y)| i32::from(x) * i32::from(y))
            .sum();
        // SAFETY: this function's own requirement (AVX2).
        let head = unsafe { hsum(acc) };
        head + rest
    }

    /// The sum of `acc`'s eight lanes.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn hsum(acc: __m256i) -> i32 {
        let s = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256(acc, 1),
        );
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s)
    }
}

/// The int8 dot product with AVX-512 VNNI on 256-bit vectors: `vpdpbusd`
/// multiplies and sums four byte pairs into each 32-bit lane in one
/// instruction, where AVX2 needs three (`maddubs`, `madd`, `add`). The sums
/// are the same integers.
#[cfg(target_arch = "x86_64")]
mod vnni_int {
    use super::avx_int::{hsum, sum_and_rest};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX2, AVX-512VL and AVX-512 VNNI, and no value
    /// may be -128 (`sign` cannot negate it).
    #[target_feature(enable = "avx2,avx512vl,avx512vnni")]
    pub(super) unsafe fn int_dot(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        let mut i = 0;
        // SAFETY: every load reads 32 bytes at offsets below `n`.
        unsafe {
            while i + 64 <= n {
                let a0 = _mm256_loadu_si256(pa.add(i).cast());
                let b0 = _mm256_loadu_si256(pb.add(i).cast());
                let a1 = _mm256_loadu_si256(pa.add(i + 32).cast());
                let b1 = _mm256_loadu_si256(pb.add(i + 32).cast());
                // |a| as unsigned bytes times b with a's sign: a · b.
                acc0 = _mm256_dpbusd_epi32(acc0, _mm256_abs_epi8(a0), _mm256_sign_epi8(b0, a0));
                acc1 = _mm256_dpbusd_epi32(acc1, _mm256_abs_epi8(a1), _mm256_sign_epi8(b1, a1));
                i += 64;
            }
            while i + 32 <= n {
                let a0 = _mm256_loadu_si256(pa.add(i).cast());
                let b0 = _mm256_loadu_si256(pb.add(i).cast());
                acc0 = _mm256_dpbusd_epi32(acc0, _mm256_abs_epi8(a0), _mm256_sign_epi8(b0, a0));
                i += 32;
            }
            sum_and_rest(_mm256_add_epi32(acc0, acc1), a, b, i)
        }
    }

    /// [`super::IntDotsFn`] for rows of `32 * C` values: `a`'s 32-byte
    /// blocks and their magnitudes stay in registers across the rows (one
    /// call where [`int_dot`] took one a row), two accumulators a row.
    ///
    /// # Safety
    /// As [`int_dot`]; `a` holds `32 * C` values, and every row of `rows`
    /// lies in `data`, as slicing checks.
    #[target_feature(enable = "avx2,avx512vl,avx512vnni")]
    pub(super) unsafe fn int_dots<const C: usize>(
        a: &[i8],
        data: &[i8],
        rows: &[u32],
        out: &mut [i32],
    ) {
        let d = 32 * C;
        let mut signs = [_mm256_setzero_si256(); C];
        let mut mags = [_mm256_setzero_si256(); C];
        // SAFETY: `a` holds `32 * C` values, so every load lies inside it.
        unsafe {
            for c in 0..C {
                let v = _mm256_loadu_si256(a[32 * c..32 * c + 32].as_ptr().cast());
                signs[c] = v;
                mags[c] = _mm256_abs_epi8(v);
            }
        }
        for (o, &r) in out.iter_mut().zip(rows) {
            let r = r as usize;
            let b = &data[r * d..(r + 1) * d];
            let pb = b.as_ptr();
            let mut acc = [_mm256_setzero_si256(); 2];
            // SAFETY: `b` holds `32 * C` values, so every load lies inside it.
            unsafe {
                for c in 0..C {
                    let v = _mm256_loadu_si256(pb.add(32 * c).cast());
                    acc[c % 2] =
                        _mm256_dpbusd_epi32(acc[c % 2], mags[c], _mm256_sign_epi8(v, signs[c]));
                }
                *o = hsum(_mm256_add_epi32(acc[0], acc[1]));
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// The dot-product kernel for this CPU.
pub(crate) fn dot_fn() -> DistFn {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2() {
            // SAFETY: only handed out after the features were detected.
            return |a, b| unsafe { avx::dot(a, b) };
        }
    }
    dot_scalar
}

/// The squared-Euclidean kernel for this CPU.
pub(crate) fn sqdist_fn() -> DistFn {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2() {
            // SAFETY: only handed out after the features were detected.
            return |a, b| unsafe { avx::sqdist(a, b) };
        }
    }
    sqdist_scalar
}

/// The int8 dot-product kernel for this CPU.
pub(crate) fn int_dot_fn() -> IntDotFn {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx2") && has!("avx512vl") && has!("avx512vnni") {
            // SAFETY: only handed out after the features were detected;
            // callers keep values within -127..=127.
            return |a, b| unsafe { vnni_int::int_dot(a, b) };
        }
        if has!("avx2") {
            // SAFETY: only handed out after the feature was detected; callers
            // keep values within -127..=127.
            return |a, b| unsafe { avx_int::int_dot(a, b) };
        }
    }
    int_dot_scalar
}

/// The one-row-against-many int8 kernel for this CPU and rows of `d` values.
pub(crate) fn int_dots_fn(d: usize) -> IntDotsFn {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx2") && has!("avx512vl") && has!("avx512vnni") {
            // SAFETY (each): only handed out after the features were detected,
            // for rows of the kernel's width; callers keep values within
            // -127..=127.
            match d {
                128 => return |a, t, r, o| unsafe { vnni_int::int_dots::<4>(a, t, r, o) },
                256 => return |a, t, r, o| unsafe { vnni_int::int_dots::<8>(a, t, r, o) },
                384 => return |a, t, r, o| unsafe { vnni_int::int_dots::<12>(a, t, r, o) },
                _ => {
                    return |a, t, r, o| {
                        dots_by(|x, y| unsafe { vnni_int::int_dot(x, y) }, a, t, r, o)
                    };
                }
            }
        }
        if has!("avx2") {
            // SAFETY: as above.
            return |a, t, r, o| dots_by(|x, y| unsafe { avx_int::int_dot(x, y) }, a, t, r, o);
        }
    }
    let _ = d;
    |a, t, r, o| dots_by(int_dot_scalar, a, t, r, o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_agree() {
        let a: Vec<f32> = (0..389).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..389).map(|i| (i as f32 * 0.11).cos()).collect();
        let (d1, d2) = (dot_fn()(&a, &b), dot_scalar(&a, &b));
        assert!((d1 - d2).abs() < 1e-3);
        let (s1, s2) = (sqdist_fn()(&a, &b), sqdist_scalar(&a, &b));
        assert!((s1 - s2).abs() < 1e-3);
    }

    /// Every int8 kernel this CPU can run, the one chosen included.
    fn int_kernels() -> Vec<(&'static str, IntDotFn)> {
        let mut kernels: Vec<(&'static str, IntDotFn)> = vec![("chosen", int_dot_fn())];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") {
                // SAFETY: the feature was detected; the tests' values lie in -127..=127.
                kernels.push(("avx2", |a, b| unsafe { avx_int::int_dot(a, b) }));
            }
            if has!("avx2") && has!("avx512vl") && has!("avx512vnni") {
                // SAFETY: as above.
                kernels.push(("vnni", |a, b| unsafe { vnni_int::int_dot(a, b) }));
            }
        }
        kernels
    }

    #[test]
    fn int_kernels_agree_exactly() {
        for len in [0usize, 1, 31, 32, 33, 64, 100, 256, 389] {
            let a: Vec<i8> = (0..len)
                .map(|i| ((i * 37 + 11) % 255) as i32 - 127)
                .map(|v| v as i8)
                .collect();
            let b: Vec<i8> = (0..len)
                .map(|i| ((i * 91 + 5) % 255) as i32 - 127)
                .map(|v| v as i8)
                .collect();
            let extreme = vec![127i8; len];
            let neg = vec![-127i8; len];
            for (name, kernel) in int_kernels() {
                assert_eq!(kernel(&a, &b), int_dot_scalar(&a, &b), "{name}, len {len}");
                assert_eq!(
                    kernel(&extreme, &neg),
                    -(127 * 127 * len as i32),
                    "{name}, len {len}"
                );
                assert_eq!(kernel(&neg, &neg), 127 * 127 * len as i32, "{name}");
            }
        }
    }

    #[test]
    fn one_row_against_many_agrees_exactly() {
        for d in [0usize, 1, 100, 128, 256, 384, 389] {
            let n = 40;
            let data: Vec<i8> = (0..n * d)
                .map(|i| ((i * 7919 + 13) % 255) as i32 - 127)
                .map(|v| v as i8)
                .collect();
            let mut a: Vec<i8> = (0..d)
                .map(|i| ((i * 31 + 3) % 255) as i32 - 127)
                .map(|v| v as i8)
                .collect();
            if let Some(v) = a.first_mut() {
                *v = -127;
            }
            let rows: Vec<u32> = (0..n as u32).rev().chain([0, 7, 7]).collect();
            let mut out = vec![0i32; rows.len()];
            int_dots_fn(d)(&a, &data, &rows, &mut out);
            for (t, &r) in rows.iter().enumerate() {
                let r = r as usize;
                assert_eq!(
                    out[t],
                    int_dot_scalar(&a, &data[r * d..(r + 1) * d]),
                    "d {d}, row {r}"
                );
            }
        }
    }
}
