// ASan's defaults for every fuzz target (ASAN_OPTIONS still overrides them).
// Every check stays; three costs per allocation go (issue 16, perf of
// fuzz_ops on entry-sync):
//  - filling new chunks with 0xbe: a debugging aid for uninitialized reads,
//    which ASan does not detect;
//  - the 256 MB quarantine, which made every allocation touch fresh memory
//    (page faults were a tenth of the profile). 16 MB still holds the frees
//    of about a hundred executions: a use after free within one is caught;
//  - 30-frame stacks for every malloc and free (the stack depot and the
//    unwinder were a tenth of the profile). Five frames name the function
//    that allocated or freed and its callers; `vtdfuzz replay` of the
//    reproducer under an ASan build gives the full stacks.
extern "C" const char* __asan_default_options() {
  return "max_malloc_fill_size=0:quarantine_size_mb=16:malloc_context_size=5";
}
