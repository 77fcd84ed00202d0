//! The first layer's fast path for plain gradient descent on mostly-zero byte images (MNIST):
//! an index of every image's non-zero pixels ([`index`]) and the first layer held input-major
//! while an epoch runs ([`layer`]). The kernels they call are in `crate::kernels::sparse`; the
//! training step ([`super::step`]) is the only user.

pub(crate) mod index;
pub(crate) mod layer;

pub(crate) use index::{SparseImage, SparseImages};
pub(crate) use layer::SparseFirstLayer;
