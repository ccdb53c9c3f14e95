int a[09];
