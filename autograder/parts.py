"""The graded parts of the assignment: grade id of the autograder test cell -> points, in
notebook order (100 in all). Every list of graded parts derives from this table."""

TEST_CELLS = {
    "test_initialize_parameters": 5, "test_leaky_relu": 10, "test_affine": 15, "test_network": 15,
    "test_adagrad": 8, "test_rmsprop": 8, "test_momentum": 8, "test_nesterov": 9,
    "test_adam": 11, "test_adabelief": 11,
}
