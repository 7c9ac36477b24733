// teardown-replace (driver/writers/teardown_replace.h).
#include "driver/writers/teardown_replace.h"

namespace vtd::drv {

VTDFUZZ_REGISTER_WRITER(TeardownReplace, "teardown-replace",
                        "merged flow: replace = teardown (clear P, flush, zero) + setup; never "
                        "hitless",
                        "", "clean");

}  // namespace vtd::drv
