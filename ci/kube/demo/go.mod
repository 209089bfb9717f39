module todo-cloud/ci/kube/demo

go 1.26
