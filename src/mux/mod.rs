//! The output multiplexer: child output lines into one prefixed, coloured stream.
