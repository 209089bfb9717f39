module todo-cloud/ci/kube/pause

go 1.26
