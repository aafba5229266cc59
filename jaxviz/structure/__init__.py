"""Program structure both graph builders share: repeats (unrolled Python loops) and where
in the user's code a structure starts."""
