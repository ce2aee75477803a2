// Every operator new in the test program, counted: a test can show that
// some code allocates nothing.
#pragma once

long allocationCount();
