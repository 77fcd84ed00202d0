//! Where the inputs are not zero.
//!
//! Four fifths of an MNIST image's pixels are 0, and a zero input adds exactly nothing, both to
//! a first-layer neuron's weighted input z_j = Σ_k w_jk x_k + b_j and to the gradient
//! ∂C/∂w_jk = Σ_samples ∂C/∂z_j · x_k. This index lists, for every image, the pixels that are
//! not zero, so that the first layer's kernels in `crate::kernels::sparse` touch only those.
//!
//! The lists are laid out to give the same sums, bit for bit, as the dense kernels: those add
//! a dot product of 784 terms as 8 partial sums, partial sum l taking the terms k ≡ l (mod 8)
//! in order. So each image's non-zero pixels below the last multiple of 8 are listed in 8
//! *lanes* by k mod 8, each in increasing order, and the pixels after it separately (the
//! dense kernels add those one by one after the 8 partial sums).

/// The non-zero pixels of every image of a byte-valued dataset.
#[derive(Clone, Debug)]
pub struct SparseImages {
    n_inputs: usize,
    /// Where each image's entry starts in `entries`; one more at the end.
    starts: Vec<u32>,
    /// Per image: the lane length `len`, the tail length, then 8 lanes of `len` pixel numbers,
    /// then the tail's pixel numbers.
    entries: Vec<u16>,
    /// The grey level of the pixel in the same place of `entries` (0 for the header and the
    /// padding): kept beside its number, the step reads no image at all.
    values: Vec<u8>,
}

/// One image's non-zero pixels, as [`SparseImages::image`] returns them (only it makes them,
/// so every pixel number is below `n_inputs`).
#[derive(Clone, Copy, Debug)]
pub struct SparseImage<'a> {
    /// The image's number of pixels.
    pub(crate) n_inputs: usize,
    /// The grey levels of the pixels of `all`, in the same order.
    pub(crate) values: &'a [u8],
    /// The pixel numbers: first 8 lanes of [`len`](Self::len) each, lane l (at
    /// `l·len..(l + 1)·len`) holding the non-zero pixels k ≡ l (mod 8) below 8⌊n/8⌋, in
    /// increasing order, then as many copies of `n_inputs` (one past the last pixel, value 0)
    /// as it takes to make all lanes equally long; then the tail, the non-zero pixels from
    /// 8⌊n/8⌋ on, in increasing order. The kernels keep a row of zero weights for the padding:
    /// adding 0 · 0 changes no sum, and no real weight is read for it.
    pub(crate) all: &'a [u16],
    /// The length of each lane.
    pub(crate) len: usize,
}

impl<'a> SparseImage<'a> {
    /// The 8 lanes, one after another.
    #[cfg(test)]
    pub(crate) fn lanes(&self) -> &'a [u16] {
        &self.all[..8 * self.len]
    }

    /// The tail.
    pub(crate) fn tail(&self) -> &'a [u16] {
        &self.all[8 * self.len..]
    }
}

/// Below this many images the index is built on one thread (a second one would cost more than
/// it saves).
const PARALLEL_IMAGES: usize = 4096;

/// The index of some consecutive images: their entries and values, and where each starts
/// (from 0, without the final end).
struct Part {
    starts: Vec<u32>,
    entries: Vec<u16>,
    values: Vec<u8>,
}

impl Part {
    /// `None` if the entries (without headers) grow past `budget`, or past what 32 bits count.
    fn new(pixels: &[u8], n_inputs: usize, budget: usize) -> Option<Part> {
        let main = n_inputs / 8 * 8;
        let chunks = main / 8;
        let padding = n_inputs as u16;
        let mut starts = Vec::with_capacity(pixels.len() / n_inputs);
        let mut entries = Vec::new();
        let mut values = Vec::new();
        // Lane l of the image at hand: lanes[l·room..][..counts[l]], with room for one more.
        let room = chunks + 1;
        let mut lanes = vec![0u16; 8 * room];
        for image in pixels.chunks_exact(n_inputs) {
            starts.push(u32::try_from(entries.len()).ok()?);
            let mut counts = [0usize; 8];
            // Every pixel's number is written at the end of its lane, and the lane grows
            // past it only if the pixel is not zero: no branch to mispredict.
            for (c, chunk) in image[..main].chunks_exact(8).enumerate() {
                for (l, &p) in chunk.iter().enumerate() {
                    lanes[l * room + counts[l]] = (8 * c + l) as u16;
                    counts[l] += usize::from(p != 0);
                }
            }
            let len = counts.into_iter().max().unwrap_or(0);
            let tail = image[main..].iter().filter(|&&p| p != 0).count();
            // The header, the lanes padded with `n_inputs` (grey level 0), the tail.
            let start = entries.len();
            entries.resize(start + 2 + 8 * len + tail, padding);
            values.resize(start + 2 + 8 * len + tail, 0);
            (entries[start], entries[start + 1]) = (len as u16, tail as u16);
            let (e, v) = (&mut entries[start + 2..], &mut values[start + 2..]);
            for (l, &count) in counts.iter().enumerate() {
                let lane = &lanes[l * room..][..count];
                let (e, v) = (&mut e[l * len..][..count], &mut v[l * len..][..count]);
                for ((e, v), &k) in e.iter_mut().zip(v.iter_mut()).zip(lane) {
                    (*e, *v) = (k, image[k as usize]);
                }
            }
            let (e, v) = (&mut e[8 * len..], &mut v[8 * len..]);
            let nonzero = (main..n_inputs).filter(|&k| image[k] != 0);
            for ((e, v), k) in e.iter_mut().zip(v.iter_mut()).zip(nonzero) {
                (*e, *v) = (k as u16, image[k]);
            }
            if entries.len() - 2 * starts.len() > budget {
                return None;
            }
        }
        Some(Part {
            starts,
            entries,
            values,
        })
    }
}

/// Above this fraction of non-zero inputs (counting the lanes' padding), the dense kernels are
/// the faster way, and [`SparseImages::new`] declines.
pub const MAX_DENSITY: f64 = 0.5;

impl SparseImages {
    /// The index of `pixels` (images of `n_inputs` bytes one after another), or `None` if more
    /// than [`MAX_DENSITY`] of the entries would be needed, or the images have 65,535 pixels
    /// or more (numbers, including the padding's `n_inputs`, are stored in 16 bits).
    pub fn new(pixels: &[u8], n_inputs: usize) -> Option<Self> {
        if n_inputs == 0 || n_inputs >= 1 << 16 || !pixels.len().is_multiple_of(n_inputs) {
            return None;
        }
        let n_images = pixels.len() / n_inputs;
        Self::build(
            pixels,
            n_inputs,
            crate::threads() > 1 && n_images >= PARALLEL_IMAGES,
        )
    }

    /// [`SparseImages::new`], the first half of the images on a second thread if `split`: each
    /// image's entry depends on that image alone, so the halves joined are the index built in
    /// one.
    fn build(pixels: &[u8], n_inputs: usize, split: bool) -> Option<Self> {
        let n_images = pixels.len() / n_inputs;
        let budget = (MAX_DENSITY * pixels.len() as f64) as usize;
        let parts = if split {
            let (first, second) = pixels.split_at(n_images / 2 * n_inputs);
            std::thread::scope(|s| {
                let first = s.spawn(|| Part::new(first, n_inputs, budget));
                let second = Part::new(second, n_inputs, budget);
                let first = first
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                vec![first, second]
            })
        } else {
            vec![Part::new(pixels, n_inputs, budget)]
        };
        let mut starts = Vec::with_capacity(n_images + 1);
        let (mut entries, mut values) = (Vec::new(), Vec::new());
        for part in parts {
            let part = part?;
            let offset = u32::try_from(entries.len()).ok()?;
            for start in part.starts {
                starts.push(start.checked_add(offset)?);
            }
            if entries.is_empty() {
                (entries, values) = (part.entries, part.values);
            } else {
                entries.extend_from_slice(&part.entries);
                values.extend_from_slice(&part.values);
            }
        }
        starts.push(u32::try_from(entries.len()).ok()?);
        if entries.len() - 2 * n_images > budget {
            return None;
        }
        entries.shrink_to_fit();
        values.shrink_to_fit();
        Some(SparseImages {
            n_inputs,
            starts,
            entries,
            values,
        })
    }

    /// Image `i`'s non-zero pixels.
    pub fn image(&self, i: usize) -> SparseImage<'_> {
        let range = self.starts[i] as usize..self.starts[i + 1] as usize;
        let e = &self.entries[range.clone()];
        let (len, tail) = (e[0] as usize, e[1] as usize);
        SparseImage {
            n_inputs: self.n_inputs,
            values: &self.values[range][2..],
            all: &e[2..2 + 8 * len + tail],
            len,
        }
    }

    /// Asks the CPU to start loading image `i`'s entries into cache.
    pub fn prefetch(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let range = self.starts[i] as usize..self.starts[i + 1] as usize;
            // Every 64 bytes of the image's entries (u16) and grey levels (u8). The addresses
            // are computed with wrapping_add: for the last image, offset + 32 may lie past the
            // end of the vector, where `add` would be undefined behaviour even for a prefetch.
            for offset in range.step_by(64) {
                let entries = self.entries.as_ptr().wrapping_add(offset);
                // SAFETY: a prefetch is only a hint: it never faults and reads nothing the
                // program sees, whatever the address.
                unsafe {
                    _mm_prefetch::<_MM_HINT_T0>(entries.cast());
                    _mm_prefetch::<_MM_HINT_T0>(entries.wrapping_add(32).cast());
                    _mm_prefetch::<_MM_HINT_T0>(self.values.as_ptr().wrapping_add(offset).cast());
                }
            }
        }
        let _ = i;
    }

    /// The number of inputs of each image.
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_non_zero_pixel_once_by_lane_in_order() {
        // 4 images of 19 pixels: 16 in lanes, 3 in the tail; the last two all zero.
        let mut pixels = vec![0u8; 4 * 19];
        for k in [0, 3, 8, 11, 15, 17] {
            pixels[k] = 1 + k as u8;
        }
        pixels[19..38].fill(7); // the second image has no zero pixel
        let index = SparseImages::new(&pixels, 19).expect("sparse enough");
        assert_eq!(index.len(), 4);
        let a = index.image(0);
        assert_eq!(a.len, 2);
        // Lane 0: 0, 8; lane 3: 3, 11; lane 7: 15, then the padding (19).
        assert_eq!(&a.lanes()[0..2], &[0, 8]);
        assert_eq!(&a.lanes()[6..8], &[3, 11]);
        assert_eq!(&a.lanes()[14..16], &[15, 19]);
        assert_eq!(&a.lanes()[2..4], &[19, 19]);
        assert_eq!(a.tail(), &[17]);
        for (l, lane) in a.lanes().chunks_exact(a.len).enumerate() {
            assert!(lane.iter().all(|&k| k == 19 || k as usize % 8 == l));
        }
        let value = |k: u16| if k == 19 { 0 } else { pixels[k as usize] };
        assert!(a.all.iter().zip(a.values).all(|(&k, &v)| value(k) == v));
        let b = index.image(1);
        assert_eq!((b.len, b.tail()), (2, &[16u16, 17, 18][..]));
        for l in 0..8 {
            assert_eq!(&b.lanes()[2 * l..2 * l + 2], &[l as u16, l as u16 + 8]);
        }
        let c = index.image(3);
        assert_eq!((c.len, c.tail().len()), (0, 0));
    }

    #[test]
    fn declines_dense_images() {
        assert!(SparseImages::new(&[1u8; 784 * 3], 784).is_none());
        assert!(SparseImages::new(&[0u8; 784 * 3], 784).is_some());
    }

    #[test]
    fn the_index_built_in_two_halves_is_the_index_built_in_one() {
        // 9 images of 100 pixels, one dense, an odd count so the halves differ.
        let mut rng = crate::Rng::new(7);
        let pixels: Vec<u8> = (0..9 * 100)
            .map(|i| {
                if rng.uniform() < 0.1 || i / 100 == 4 {
                    (i % 251) as u8 + 1
                } else {
                    0
                }
            })
            .collect();
        let one = SparseImages::build(&pixels, 100, false).expect("sparse enough");
        let two = SparseImages::build(&pixels, 100, true).expect("sparse enough");
        assert_eq!(one.starts, two.starts);
        assert_eq!(one.entries, two.entries);
        assert_eq!(one.values, two.values);
        // Declining does not depend on the split either: too dense in all, however halved.
        let dense = vec![1u8; 9 * 20];
        assert!(SparseImages::build(&dense, 20, false).is_none());
        assert!(SparseImages::build(&dense, 20, true).is_none());
    }
}
