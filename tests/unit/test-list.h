/* Every unit test, one per line. CMake registers each as unit.<name>. */
TEST_ENTRY(hello)
