//! Kernels compiled for the vector units the processor has: [`vectorised!`](crate::vectorised).

/// Defines a function whose body is compiled three times, for AVX-512F, for AVX2 and for the
/// build's baseline, and runs the first of them the processor supports (checked at run time;
/// the baseline elsewhere than x86-64).
///
/// The bodies are loops of plain products, sums, square roots and comparisons written for
/// the compiler to vectorise. Rust never fuses a product and a sum into one rounding, so
/// every width gives the same values bit for bit. The attributes given are copied onto every
/// copy, so give only documentation and lint levels (`#[allow]`): an `#[inline]` or a symbol
/// name would clash. Generic parameters take one bound each; the names `kernel`, `avx2` and
/// `avx512` are the copies' own inside the body.
///
/// ```
/// diffract_parallel::vectorised! {
///     /// `out[i] = a[i] * b[i] + c`.
///     pub fn scale_add(a: &[f64], b: &[f64], c: f64, out: &mut [f64]) {
///         for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
///             *o = x * y + c;
///         }
///     }
/// }
/// let mut out = [0.0; 3];
/// scale_add(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], 0.5, &mut out);
/// assert_eq!(out, [4.5, 10.5, 18.5]);
/// ```
#[macro_export]
macro_rules! vectorised {
    (
        $(#[$m:meta])*
        $vis:vis fn $name:ident $(<$($g:ident: $b:path),+ $(,)?>)?
            ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$m])*
        $vis fn $name $(<$($g: $b),+>)? ($($arg: $ty),*) $(-> $ret)? {
            $(#[$m])*
            #[inline(always)]
            fn kernel $(<$($g: $b),+>)? ($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                $(#[$m])*
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512 $(<$($g: $b),+>)? ($($arg: $ty),*) $(-> $ret)? {
                    kernel($($arg),*)
                }
                $(#[$m])*
                #[target_feature(enable = "avx2")]
                unsafe fn avx2 $(<$($g: $b),+>)? ($($arg: $ty),*) $(-> $ret)? {
                    kernel($($arg),*)
                }
                if ::std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the processor has AVX-512F (checked just above).
                    return unsafe { avx512($($arg),*) };
                }
                if ::std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the processor has AVX2 (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            kernel($($arg),*)
        }
    };
}
