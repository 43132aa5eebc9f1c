# Helpers that register heartwire's test executables with ctest, labelled and time-limited.
#
# hw_add_test(NAME name LABEL unit|integration|chaos|fuzz SOURCES a.c ... [LIBS t ...]
#             [TIMEOUT seconds] [ARGS ...])
# Every test links hw_build_flags and the test support library (tests/lib); every test has
# a timeout, so one hang fails one test instead of the run.
function(hw_add_test)
	cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS;ARGS" ${ARGN})
	if(NOT HW_TESTS)
		return()
	endif()
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 60)
	endif()
	add_executable(${T_NAME} ${T_SOURCES})
	target_link_libraries(${T_NAME} PRIVATE hwtest ${T_LIBS} hw_build_flags)
	add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS})
	set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT}
		ENVIRONMENT "HW_BUILD_DIR=${CMAKE_BINARY_DIR};HW_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
