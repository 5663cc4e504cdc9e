/** A Deployment every policy tool must reject: an unknown field, a latest tag, privileged, no resources. */
export const BAD_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: bad
  namespace: demo
spec:
  bogus: true
  replicas: 1
  selector:
    matchLabels: {app: bad}
  template:
    metadata:
      labels: {app: bad}
    spec:
      containers:
        - name: web
          image: nginx:latest
          securityContext:
            privileged: true
`;
