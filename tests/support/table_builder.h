// Transitional: the table builder is simulator/table_builder.h (library
// vtd_table_builder, namespace vtd::sim). tools/bench.cc still includes this
// path and spells vtd::test::; once it includes simulator/table_builder.h
// and spells sim::, delete this file (and tests/support/).
#pragma once

#include "simulator/table_builder.h"

namespace vtd::test {
using sim::aw_for_levels;
using sim::data_page;
using sim::fspm_for_levels;
using sim::MapOpts;
using sim::PageTables;
using sim::StoreKind;
using sim::TableBuilder;
}  // namespace vtd::test
