// ASan's defaults for every fuzz target (ASAN_OPTIONS still overrides them).
// Every check stays; three costs per allocation go (issue 16, perf of
// fuzz_ops on entry-sync):
//  - filling new chunks with 0xbe: a debugging aid for uninitialized reads,
//    which ASan does not detect;
//  - the 256 MB quarantine, which made every allocation touch fresh memory
//    (page faults were a tenth of the profile), and then 16 MB, whose
//    recycled chunks still missed the CPU caches (the allocator was a
//    tenth of the profile; the same 1,733 programs took 19% less CPU with
//    2 MB). One execution mallocs about 220 KB (ASan's print_stats over
//    those programs), so 2 MB still holds the frees of the last nine
//    executions: a use after free within one is caught;
//  - 30-frame stacks for every malloc and free (the stack depot and the
//    unwinder were a tenth of the profile). Five frames name the function
//    that allocated or freed and its callers; the asan preset's
//    `build/asan/tools/vtdfuzz-cli replay` of the reproducer gives the
//    full stacks.
extern "C" const char* __asan_default_options() {
  return "max_malloc_fill_size=0:quarantine_size_mb=2:malloc_context_size=5";
}
