//! Transparent huge pages for the large arrays that are read at random.
//!
//! NN-descent reads rows, heaps and candidate lists of hundreds of MB at random
//! places. With 4 KiB pages nearly every such read also misses the TLB (its
//! reach is a few MB); 2 MiB pages make the same arrays a few hundred TLB
//! entries. Linux backs a range with huge pages when asked (`madvise`), which
//! is the default setting of its `transparent_hugepage` (`madvise`); elsewhere,
//! or when the kernel declines, nothing changes. Only how memory is backed
//! changes, never a value.

/// The size of a huge page on x86-64 and most Linux arm64 kernels.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// A vector of `len` copies of `value` whose memory is asked to be backed by
/// huge pages before it is first written.
pub(crate) fn huge_vec<T: Clone>(len: usize, value: T) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(len);
    advise_huge_pages(v.spare_capacity_mut());
    v.resize(len, value);
    v
}

/// Asks the kernel to back the whole huge pages inside `mem` with huge pages
/// (a hint: the contents do not change; ranges smaller than a huge page are
/// left alone).
pub(crate) fn advise_huge_pages<T>(mem: &[T]) {
    #[cfg(target_os = "linux")]
    {
        let start = mem.as_ptr() as usize;
        let end = start + std::mem::size_of_val(mem);
        let lo = start.next_multiple_of(HUGE_PAGE);
        let hi = end & !(HUGE_PAGE - 1);
        if hi > lo {
            // SAFETY: `madvise(MADV_HUGEPAGE)` only changes how the kernel backs
            // the pages of a range, which lies inside `mem`'s allocation; it
            // reads and writes nothing. Its result is a hint's, so ignored.
            unsafe {
                libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = mem;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_vectors_hold_their_values() {
        for len in [0usize, 1, 1000, (4 << 20) + 3] {
            let v = huge_vec(len, 7u32);
            assert_eq!(v.len(), len);
            assert!(v.iter().all(|&x| x == 7));
        }
        let mut v = vec![1u8; 5 << 20];
        advise_huge_pages(&v);
        v[3 << 20] = 2;
        assert_eq!(v.iter().map(|&x| u64::from(x)).sum::<u64>(), (5 << 20) + 1);
    }
}
