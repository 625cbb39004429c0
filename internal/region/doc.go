// Package region supplies the buffers of large inbound messages: anonymous
// private memory mappings reserved at the full message limit, whose pages
// the kernel commits only as bytes are written into them. A message that
// has received 300 KiB of a declared 16 MiB holds 300 KiB of memory, not
// 16 MiB, and the buffer never moves or regrows as the rest arrives: one
// copy of every byte, no garbage for the collector, and nothing allocated
// on a length the peer declared (only address space is reserved).
//
// Released regions are kept mapped for reuse. Their pages stay resident up
// to a bound shared by every pool (Retain, 64 MiB by default) so that a
// steady flow of large messages does not pay a page fault per 4 KiB; past
// the bound they are handed back to the kernel at once (madvise
// MADV_DONTNEED), so memory returns to the baseline as soon as a flood of
// stalled messages is closed. Regions are never unmapped: a slice kept past
// its lifetime by mistake reads stale bytes or zeros, never faults. The
// address space reserved is the peak number of large messages in progress
// at once times the region size.
//
// On platforms without the mapping calls For returns nil and the decoder
// grows heap buffers instead.
package region
