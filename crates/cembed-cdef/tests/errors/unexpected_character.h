int x`;
