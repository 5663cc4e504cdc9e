module stackport.local/images/connectivity

go 1.26
